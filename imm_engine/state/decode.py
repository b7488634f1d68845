"""Redis replies as text: redis-py returns bytes unless the client decodes responses."""

from __future__ import annotations


def text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value
