"""One sender per destination type, each behind the dispatcher's `Sender` protocol.

`KINDS` says, per destination type, which module holds its sender and which extra brings its
client library. `default_senders()` builds the dispatcher's table for the types the routes
use (a missing extra stops the notifier at start, naming it). Every sender is wrapped so that
a destination's `wrap` option ("mns-json") applies to all types alike.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import redis

from imm_engine.extras import require
from imm_engine.notify.routes import Destination, Routes
from imm_engine.notify.senders.base import Outcome, Sender, failure
from imm_engine.notify.senders.builtin_mns import BuiltinMnsSender
from imm_engine.notify.wrap import body_for

if TYPE_CHECKING:
    from imm_engine.state.keys import Keys

log = logging.getLogger("imm_engine.notify")


@dataclass(frozen=True)
class Kind:
    #: The module under imm_engine.notify.senders, and its sender class (made without arguments).
    module: str
    sender: str
    #: The extra that installs the client library, and a module of that library ("": none).
    extra: str = ""
    library: str = ""

    def require(self, kind: str) -> None:
        if self.extra:
            require(self.extra, self.library, f"a notification destination of type {kind!r}")


KINDS: dict[str, Kind] = {
    "webhook": Kind("webhook", "WebhookSender"),
    "redis_stream": Kind("redis_stream", "RedisStreamSender"),
    "amqp": Kind("amqp", "AmqpSender", "amqp", "amqp"),
    "mqtt": Kind("mqtt", "MqttSender", "mqtt", "paho.mqtt.client"),
    "mns": Kind("mns", "MnsSender", "mns", "mns.account"),
    "rocketmq": Kind("rocketmq", "RocketMqSender", "rocketmq", "rocketmq"),
}


class Wrapping:
    """Applies the destination's `wrap` option, then hands over to the type's sender. An
    exception a client library raises unexpectedly becomes a failed attempt, retried with
    backoff like any other, instead of an entry left pending."""

    def __init__(self, inner: Sender) -> None:
        self.inner = inner

    def send(
        self, dest: Destination, body: bytes, event_id: str, task_id: str, attempt: int
    ) -> Outcome:
        tag = getattr(dest.options, "message_tag", "")
        wrapped = body_for(dest, body, event_id, tag)
        started = time.monotonic()
        try:
            return self.inner.send(dest, wrapped, event_id, task_id, attempt)
        except Exception as exc:
            log.exception("delivery to %s raised unexpectedly", dest.name)
            return failure(exc, started)


def used_kinds(routes: Routes) -> set[str]:
    return {d.type for ds in routes.by_key.values() for d in ds}


def require_kinds(kinds: Iterable[str]) -> None:
    """Every extra these destination types need is installed, or MissingExtra naming it."""
    for kind in sorted(kinds):
        KINDS[kind].require(kind)


def default_senders(
    kinds: Iterable[str], client: redis.Redis | None = None, keys: Keys | None = None
) -> dict[str, Sender]:
    """The senders of the destination types `kinds` (those the routes use); `builtin_mns`
    (this server's own MNS topics) needs the Redis the MNS service keeps its queues in, the
    dispatcher's. Raises MissingExtra when a type's client library is not installed."""
    senders: dict[str, Sender] = {}
    for kind in sorted(kinds):
        spec = KINDS[kind]
        spec.require(kind)
        module = importlib.import_module(f"{__name__}.{spec.module}")
        senders[kind] = cast(Sender, getattr(module, spec.sender)())
    if client is not None and keys is not None:
        senders["builtin_mns"] = BuiltinMnsSender(client, keys)
    return {kind: Wrapping(sender) for kind, sender in senders.items()}
