"""A built-in MNS-compatible message service (MNS HTTP API 2015-06-06) on imm-engine's Redis.

Modules: `wire` (XML), `signature`, `attributes`, `keys`, `scripts` (Lua), `queues`,
`notification` (topic -> queue content formats), `topics`, `longpoll`, `app` (HTTP).
docs/mns.md describes what is supported.
"""

from imm_engine.mns.errors import MnsError, QueueNotExist, TopicNotExist
from imm_engine.mns.topics import publish_to_topic, topic_exists

__all__ = ["MnsError", "QueueNotExist", "TopicNotExist", "publish_to_topic", "topic_exists"]
