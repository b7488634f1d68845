"""One kept connection ("link") per destination, shared by a sender's delivery threads.

A link holds the connection and the `lock` that serialises sends on it (`ConnectedSender`
in base.py decides when to connect and drop); this registry only creates and hands them out
by name.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar


class Link(Protocol):
    lock: threading.Lock


L = TypeVar("L", bound=Link)


class Links(Generic[L]):
    def __init__(self, make: Callable[[], L]) -> None:
        self._make = make
        self._links: dict[str, L] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> L:
        """The link of destination `name`, created (empty) on first use."""
        with self._lock:
            link = self._links.get(name)
            if link is None:
                link = self._links[name] = self._make()
            return link

    def all(self) -> list[L]:
        """Every link made so far (a snapshot; lock each one before touching it)."""
        with self._lock:
            return list(self._links.values())
