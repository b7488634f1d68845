"""Every Redis key the MNS service writes (under the deployment's IMM_KEY_PREFIX).

A queue `q` is one hash of attributes (`queue(q)`) plus keys derived from it in the Lua
scripts (imm_engine/mns/scripts.py): `<queue(q)>:visible` (sorted set, by priority then
enqueue time), `:delayed` and `:inflight` (sorted sets by the ms time they become visible),
`:expiry` (sorted set by the ms time retention removes them), `:body`, `:meta` and `:props`
(hashes by message id) and `:signal` (a short list long-polling receivers block on).
"""

from __future__ import annotations

from dataclasses import dataclass

QUEUE_PARTS = ("visible", "delayed", "inflight", "expiry", "body", "meta", "props", "signal")


@dataclass(frozen=True)
class MnsKeys:
    prefix: str = "imm"

    @property
    def queue_names(self) -> str:
        """Sorted set, every score 0: the names of all queues (ListQueue, by name)."""
        return f"{self.prefix}:mns:queues"

    def queue(self, name: str) -> str:
        """Hash: a queue's attributes; also the base of its other keys."""
        return f"{self.prefix}:mns:q:{name}"

    def queue_part(self, name: str, part: str) -> str:
        return f"{self.queue(name)}:{part}"

    def signal(self, name: str) -> str:
        """List: one token per message made visible; receivers BLPOP it while long-polling."""
        return self.queue_part(name, "signal")

    @property
    def sequence(self) -> str:
        """String: a counter; message ids start with it, so ids sort by sending order."""
        return f"{self.prefix}:mns:seq"

    @property
    def topic_names(self) -> str:
        """Sorted set, every score 0: the names of all topics (ListTopic, by name)."""
        return f"{self.prefix}:mns:topics"

    def topic(self, name: str) -> str:
        """Hash: a topic's attributes."""
        return f"{self.prefix}:mns:t:{name}"

    def subscriptions(self, topic: str) -> str:
        """Hash: subscription name -> its attributes (JSON)."""
        return f"{self.prefix}:mns:t:{topic}:subs"
