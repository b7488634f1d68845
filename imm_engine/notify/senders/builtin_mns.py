"""Delivery to a topic of this server's own MNS service (destination type `builtin_mns`).

The topic's subscriptions receive the event as an MNS publish would give it to them (JSON,
XML or SIMPLIFIED, per subscription). A missing topic or an unreachable Redis is a failed
attempt, retried with backoff (the topic may be created in the meantime); every attempt is
in the task's delivery log, and a delivery that gives up can be replayed like any other.
"""

from __future__ import annotations

import redis

from imm_engine.notify.builtin_mns import BuiltinTopics, TopicMissing
from imm_engine.notify.routes import BUILTIN_PREFIX, Destination
from imm_engine.notify.senders.base import BaseSender, Delivery
from imm_engine.state.keys import Keys


class BuiltinMnsSender(BaseSender):
    failures = (TopicMissing, redis.RedisError)

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.topics = BuiltinTopics(client, keys)

    def deliver(self, dest: Destination, delivery: Delivery) -> None:
        properties = {
            "EventId": ("STRING", delivery.event_id),
            "TaskId": ("STRING", delivery.task_id),
            "Attempt": ("NUMBER", str(delivery.attempt)),
        }
        topic = dest.name.removeprefix(BUILTIN_PREFIX)
        self.topics.publish(topic, delivery.body.decode("utf-8"), properties)

    def describe(self, exc: Exception) -> str:
        return str(exc) if isinstance(exc, TopicMissing) else super().describe(exc)
