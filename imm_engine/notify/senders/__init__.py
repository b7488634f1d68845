"""One sender per destination type, each behind the dispatcher's `Sender` protocol.

`default_senders()` is the dispatcher's table. Every sender is wrapped so that a
destination's `wrap` option ("mns-json") applies to all types alike.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import redis

from imm_engine.notify.routes import Destination
from imm_engine.notify.senders.base import Sender, failure
from imm_engine.notify.webhook import Outcome, WebhookSender
from imm_engine.notify.wrap import body_for

if TYPE_CHECKING:
    from imm_engine.state.keys import Keys

log = logging.getLogger("imm_engine.notify")


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


def default_senders(
    client: redis.Redis | None = None, keys: Keys | None = None
) -> dict[str, Sender]:
    """Every destination type's sender; `builtin_mns` (this server's own MNS topics) needs the
    Redis the MNS service keeps its queues in, the dispatcher's."""
    from imm_engine.notify.senders.amqp import AmqpSender
    from imm_engine.notify.senders.builtin_mns import BuiltinMnsSender
    from imm_engine.notify.senders.mns import MnsSender
    from imm_engine.notify.senders.mqtt import MqttSender
    from imm_engine.notify.senders.redis_stream import RedisStreamSender
    from imm_engine.notify.senders.rocketmq import RocketMqSender

    senders: dict[str, Sender] = {
        "webhook": WebhookSender(),
        "redis_stream": RedisStreamSender(),
        "amqp": AmqpSender(),
        "mqtt": MqttSender(),
        "mns": MnsSender(),
        "rocketmq": RocketMqSender(),
    }
    if client is not None and keys is not None:
        senders["builtin_mns"] = BuiltinMnsSender(client, keys)
    return {kind: Wrapping(sender) for kind, sender in senders.items()}
