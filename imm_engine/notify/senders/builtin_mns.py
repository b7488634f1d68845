"""Delivery to a topic of this server's own MNS service (destination type `builtin_mns`).

The topic's subscriptions receive the event as an MNS publish would give it to them (JSON,
XML or SIMPLIFIED, per subscription). A missing topic or an unreachable Redis is a failed
attempt, retried with backoff (the topic may be created in the meantime); every attempt is
in the task's delivery log, and a delivery that gives up can be replayed like any other.
"""

from __future__ import annotations

import time

import redis

from imm_engine.notify.builtin_mns import BuiltinTopics, TopicMissing
from imm_engine.notify.routes import BUILTIN_PREFIX, Destination
from imm_engine.notify.senders.base import elapsed_ms, failure
from imm_engine.notify.webhook import Outcome
from imm_engine.state.keys import Keys


class BuiltinMnsSender:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.topics = BuiltinTopics(client, keys)

    def send(
        self, dest: Destination, body: bytes, event_id: str, task_id: str, attempt: int
    ) -> Outcome:
        started = time.monotonic()
        topic = dest.name.removeprefix(BUILTIN_PREFIX)
        try:
            properties = {
                "EventId": ("STRING", event_id),
                "TaskId": ("STRING", task_id),
                "Attempt": ("NUMBER", str(attempt)),
            }
            self.topics.publish(topic, body.decode("utf-8"), properties)
        except TopicMissing as exc:
            return Outcome(False, error=str(exc)[:300], elapsed_ms=elapsed_ms(started))
        except redis.RedisError as exc:
            return failure(exc, started)
        return Outcome(True, elapsed_ms=elapsed_ms(started))
