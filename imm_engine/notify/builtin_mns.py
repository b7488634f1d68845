"""This server's own MNS-compatible topics (imm_engine/mns), as notifications use them.

The API asks `exists` at submission (a task may name a built-in topic only if it exists),
the notifier's `builtin_mns` sender calls `publish`, which fans the message out to the
topic's subscriptions as MNS does. Both go through the MNS service's Python interface on the
same Redis and key prefix; nothing here speaks HTTP.
"""

from __future__ import annotations

import redis

from imm_engine.mns import TopicNotExist, publish_to_topic, topic_exists
from imm_engine.state.keys import Keys


class TopicMissing(Exception):
    """The topic does not exist (it may be created later: a delivery is retried)."""


class BuiltinTopics:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    def exists(self, topic: str) -> bool:
        return topic_exists(self.client, self.keys.prefix, topic)

    def publish(self, topic: str, body: str, properties: dict[str, tuple[str, str]]) -> str:
        """Publish `body` to `topic`; the MessageId. TopicMissing when there is no such topic."""
        try:
            return publish_to_topic(
                self.client, self.keys.prefix, topic, body, user_properties=properties
            )
        except TopicNotExist as exc:
            raise TopicMissing(f"TopicNotExist: the built-in topic {topic} does not exist") from exc
