"""Listing objects by key prefix: what FileCompression's `prefix` rules need.

A backend offers it by having a `list_prefix` method (LocalStore does); the worker checks with
`isinstance(store, PrefixLister)` and fails the task clearly on a backend that cannot list.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from imm_engine.storage.base import ObjectInfo


@runtime_checkable
class PrefixLister(Protocol):
    def list_prefix(self, bucket: str, prefix: str) -> Iterator[tuple[str, ObjectInfo]]:
        """(key, info) of every object of `bucket` whose key starts with `prefix`, by key."""
        ...
