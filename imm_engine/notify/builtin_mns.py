"""This server's own MNS-compatible topics (imm_engine/mns), as notifications use them.

The API asks `exists` at submission (a task may name a built-in topic only if it exists),
the notifier's `builtin_mns` sender calls `publish`, which fans the message out to the
topic's subscriptions as MNS does. Both go through the MNS service's Python interface on the
same Redis and key prefix; nothing here speaks HTTP.
"""

from __future__ import annotations

import redis

from imm_engine.state.keys import Keys


class TopicMissing(Exception):
    """The topic does not exist (it may be created later: a delivery is retried)."""


class BuiltinTopics:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    def exists(self, topic: str) -> bool:
        try:
            from imm_engine.mns import topic_exists
        except ImportError:  # a build without the MNS service has no built-in topics
            return False
        return bool(topic_exists(self.client, self.keys.prefix, topic))

    def publish(self, topic: str, body: str) -> str:
        """Publish `body` to `topic`; the MessageId. TopicMissing when there is no such topic."""
        try:
            from imm_engine.mns import publish_to_topic
        except ImportError as exc:
            raise TopicMissing(f"this build has no MNS service (topic {topic})") from exc
        from imm_engine.mns.errors import TopicNotExist

        try:
            return str(publish_to_topic(self.client, self.keys.prefix, topic, body))
        except TopicNotExist as exc:
            raise TopicMissing(f"TopicNotExist: the built-in topic {topic} does not exist") from exc
