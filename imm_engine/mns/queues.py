"""The queue store: MNS queues and their messages in Redis, changed only by Lua scripts.

Semantics (docs/mns.md): a received message is invisible for the queue's VisibilityTimeout
and becomes visible again, DequeueCount + 1, when not deleted by then; every receive gives a
new receipt handle and ChangeMessageVisibility another one, the older ones are refused;
DelaySeconds hides a new message; MessageRetentionPeriod removes it, received or not.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis

from imm_engine.mns import scripts
from imm_engine.mns.attributes import PRIORITY_DEFAULT
from imm_engine.mns.errors import MnsError, QueueNotExist, message_not_exist, receipt_handle_error
from imm_engine.mns.keys import QUEUE_PARTS, MnsKeys
from imm_engine.state.decode import text

_HANDLE = re.compile(r"([0-9A-F]{32})-([0-9a-f]{16})")


@dataclass(frozen=True)
class Outgoing:
    """A message to enqueue. `delay` -1 takes the queue's DelaySeconds; `properties` is the
    user properties as opaque JSON ('' for none); `check_size` applies MaximumMessageSize."""

    body: str
    delay: int = -1
    priority: int = PRIORITY_DEFAULT
    properties: str = ""
    check_size: bool = True


@dataclass(frozen=True)
class Stored:
    """A message as ReceiveMessage / PeekMessage show it (times in epoch ms)."""

    message_id: str
    body: str
    enqueue_ms: int
    first_dequeue_ms: int
    dequeue_count: int
    priority: int
    properties: str
    receipt_handle: str = ""
    next_visible_ms: int = 0


@dataclass(frozen=True)
class Taken:
    """What a receive or peek found, and when (ms) the next hidden message is due (-1: none)."""

    messages: list[Stored]
    next_due_ms: int


def _stored(row: Sequence[Any]) -> Stored:
    values = [text(v) for v in row]
    return Stored(
        message_id=values[0],
        body=values[1],
        enqueue_ms=int(values[2]),
        first_dequeue_ms=int(values[3]),
        dequeue_count=int(values[4]),
        priority=int(values[5]),
        properties=values[6],
        receipt_handle=values[7] if len(values) > 7 else "",
        next_visible_ms=int(values[8]) if len(values) > 8 else 0,
    )


def message_id_of(handle: str) -> str:
    """The message a receipt handle belongs to, or ReceiptHandleError when it is malformed."""
    match = _HANDLE.fullmatch(handle)
    if not match:
        raise receipt_handle_error(handle)
    return match.group(1)


def _now(now_ms: int | None) -> str:
    return "" if now_ms is None else str(now_ms)


class QueueStore:
    def __init__(self, client: redis.Redis, keys: MnsKeys) -> None:
        self.client = client
        self.keys = keys
        self._send = client.register_script(scripts.SEND)
        self._receive = client.register_script(scripts.RECEIVE)
        self._peek = client.register_script(scripts.PEEK)
        self._delete = client.register_script(scripts.DELETE)
        self._change = client.register_script(scripts.CHANGE_VISIBILITY)
        self._attributes = client.register_script(scripts.ATTRIBUTES)
        self._create = client.register_script(scripts.CREATE)
        self._set = client.register_script(scripts.SET_ATTRIBUTES)

    # --- queues ---

    def create(self, name: str, attributes: dict[str, str], now_s: int) -> bool:
        """True when created, False when it exists with the same attributes; a queue of that
        name with other attributes is QueueAlreadyExist."""
        flat = [v for pair in sorted(attributes.items()) for v in pair]
        outcome = text(
            self._create(
                keys=[self.keys.queue(name), self.keys.queue_names], args=[name, now_s, *flat]
            )
        )
        if outcome == "different":
            raise MnsError(
                "QueueAlreadyExist",
                "The queue you want to create already exists with other attributes.",
                409,
            )
        return outcome == "created"

    def set_attributes(self, name: str, attributes: dict[str, str], now_s: int) -> None:
        flat = [v for pair in sorted(attributes.items()) for v in pair]
        if not self._set(keys=[self.keys.queue(name)], args=[now_s, *flat]):
            raise QueueNotExist(name)

    def attributes(self, name: str, now_ms: int | None = None) -> dict[str, str]:
        """Stored attributes plus ActiveMessages, InactiveMessages, DelayMessages."""
        found = self._attributes(keys=[self.keys.queue(name)], args=[_now(now_ms)])
        if not found:
            raise QueueNotExist(name)
        flat = [text(v) for v in found[0]]
        attrs = dict(zip(flat[::2], flat[1::2], strict=True))
        attrs["ActiveMessages"] = str(found[1])
        attrs["InactiveMessages"] = str(found[2])
        attrs["DelayMessages"] = str(found[3])
        attrs["QueueName"] = name
        return attrs

    def exists(self, name: str) -> bool:
        return bool(self.client.exists(self.keys.queue(name)))

    def delete(self, name: str) -> None:
        """Remove the queue and every message in it (nothing happens if it does not exist)."""
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(self.keys.queue(name), *(self.keys.queue_part(name, p) for p in QUEUE_PARTS))
        pipe.zrem(self.keys.queue_names, name)
        pipe.execute()

    def names(self, prefix: str, marker: str, limit: int) -> tuple[list[str], str]:
        """Up to `limit` names starting with `prefix`, from `marker` on; and the next marker."""
        low = f"[{max(prefix, marker)}" if prefix or marker else "-"
        found = [
            text(n) for n in self.client.zrangebylex(self.keys.queue_names, low, "+", 0, limit + 1)
        ]
        found = [n for n in found if n.startswith(prefix)]
        if len(found) > limit:
            return found[:limit], found[limit]
        return found, ""

    # --- messages ---

    def send(self, name: str, messages: Sequence[Outgoing], now_ms: int | None = None) -> list[str]:
        """Enqueue `messages` atomically; per message its id, or '!'+code (MessageTooLarge)."""
        return self.send_many([(name, m) for m in messages], now_ms)

    def send_many(
        self, entries: Sequence[tuple[str, Outgoing]], now_ms: int | None = None
    ) -> list[str]:
        """Enqueue into several queues in one atomic step (topic fan-out). Per entry the
        message id, or '!QueueNotExist' / '!MessageTooLarge'."""
        if not entries:
            return []
        keys = [self.keys.sequence] + [self.keys.queue(q) for q, _ in entries]
        args: list[str | int] = [_now(now_ms)]
        for _, m in entries:
            args += [
                secrets.token_hex(8).upper(),
                m.body,
                m.delay,
                m.priority,
                m.properties,
                "1" if m.check_size else "0",
            ]
        results = self._send(keys=keys, args=args)
        return [text(r[0]) if text(r[0]) else "!" + text(r[1]) for r in results]

    def receive(self, name: str, count: int, now_ms: int | None = None) -> Taken:
        nonces = [secrets.token_hex(8) for _ in range(count)]
        return self._taken(
            name, self._receive(keys=[self.keys.queue(name)], args=[_now(now_ms), count, *nonces])
        )

    def peek(self, name: str, count: int, now_ms: int | None = None) -> Taken:
        return self._taken(
            name, self._peek(keys=[self.keys.queue(name)], args=[_now(now_ms), count])
        )

    def _taken(self, name: str, result: Sequence[Any]) -> Taken:
        head = text(result[0])
        if head == "!":
            raise QueueNotExist(name)
        if head:
            return Taken([], int(head))
        return Taken([_stored(row) for row in result[1:]], -1)

    def delete_message(self, name: str, handle: str, now_ms: int | None = None) -> None:
        message_id = message_id_of(handle)
        result = self._delete(keys=[self.keys.queue(name)], args=[_now(now_ms), message_id, handle])
        self._check_held(name, result)

    def change_visibility(
        self, name: str, handle: str, timeout_s: int, now_ms: int | None = None
    ) -> tuple[str, int]:
        """The new receipt handle and the ms time the message becomes visible again."""
        message_id = message_id_of(handle)
        result = self._change(
            keys=[self.keys.queue(name)],
            args=[_now(now_ms), message_id, handle, timeout_s, secrets.token_hex(8)],
        )
        self._check_held(name, result)
        return text(result[0]), int(text(result[1]))

    @staticmethod
    def _check_held(name: str, result: Sequence[Any]) -> None:
        if text(result[0]) == "!":
            if text(result[1]) == "QueueNotExist":
                raise QueueNotExist(name)
            raise message_not_exist()
