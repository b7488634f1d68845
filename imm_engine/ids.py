"""Identifiers in the shapes IMM uses."""

from __future__ import annotations

import secrets
import uuid

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def request_id() -> str:
    """An upper-case UUID, as IMM's `RequestId`."""
    return str(uuid.uuid4()).upper()


def task_id(task_type: str) -> str:
    """`<TaskType>-<uuid4>`, as IMM's current `TaskId`."""
    return f"{task_type}-{uuid.uuid4()}"


def event_id() -> str:
    """An opaque id shaped like IMM's `EventId` (`1C7-2NeZ1G6P6NW6uxwhJLB8V33ex76`)."""
    head = secrets.token_hex(2)[:3].upper()
    tail = "".join(secrets.choice(_B62) for _ in range(27))
    return f"{head}-{tail}"
