"""One MNS request as the operations see it, and their answer (pure)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from imm_engine.mns import attributes as attrs
from imm_engine.mns import wire
from imm_engine.mns.errors import malformed_xml


@dataclass(frozen=True)
class Call:
    """One request: method, path segments after the collection, raw query (decoded without
    turning `+` into a space), lower-case headers, body, and the base URL for `location`."""

    method: str
    kind: str  # "queues" or "topics"
    parts: tuple[str, ...]
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    base_url: str

    def param(self, name: str) -> str | None:
        return self.query.get(name.lower())

    def xml(self) -> wire.Element:
        try:
            return wire.parse(self.body)
        except wire.XmlRefused as exc:
            raise malformed_xml(str(exc)) from None


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def now_s() -> int:
    return int(time.time())


def now_ms() -> int:
    return int(time.time() * 1000)


def resource(call: Call) -> str:
    """What the path names: queues, queue, queue/messages, topics, topic, topic/messages,
    topic/subscriptions, topic/subscription; '' for anything else."""
    parts, single = call.parts, call.kind[:-1]
    if not parts:
        return call.kind
    if len(parts) == 1:
        return single
    if len(parts) == 2 and parts[1] == "messages":
        return f"{single}/messages"
    if call.kind == "topics" and parts[1] == "subscriptions" and len(parts) in (2, 3):
        return "topic/subscriptions" if len(parts) == 2 else "topic/subscription"
    return ""


def batch_size(call: Call) -> int | None:
    """numOfMessages (1-16), or None when absent (a single-message call)."""
    raw = call.param("numOfMessages")
    if raw is None:
        return None
    return attrs.integer("numOfMessages", raw, 1, attrs.MAX_BATCH)


def list_options(call: Call) -> tuple[str, str, int, bool]:
    prefix = call.headers.get("x-mns-prefix", "")
    marker = call.headers.get("x-mns-marker", "")
    raw = call.headers.get("x-mns-ret-number", "")
    limit = attrs.integer("x-mns-ret-number", raw, 1, 1000) if raw else 1000
    return prefix, marker, limit, call.headers.get("x-mns-with-meta", "").lower() == "true"
