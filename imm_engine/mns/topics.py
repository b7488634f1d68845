"""Topics, subscriptions and publishing: a published message is copied, in each
subscription's NotifyContentFormat, into every subscribed queue whose FilterTag matches, in
one atomic step (all subscribed queues get it, or none).

`publish_to_topic` and `topic_exists` are the interface the rest of imm-engine uses (IMM
2017 task notifications publish through them; see /work/wt/MNS_INTERFACE.md).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Mapping

import redis
from redis.typing import EncodableT, FieldT

from imm_engine.mns.attributes import TOPIC_RETENTION, Subscription
from imm_engine.mns.errors import MnsError, TopicNotExist, invalid, subscription_not_exist
from imm_engine.mns.keys import MnsKeys
from imm_engine.mns.notification import Published, render
from imm_engine.mns.queues import Outgoing, QueueStore
from imm_engine.state.decode import text

log = logging.getLogger("imm_engine.mns")


def _subscription_json(s: Subscription) -> str:
    return json.dumps(
        {
            "Endpoint": s.endpoint,
            "Queue": s.queue,
            "FilterTag": s.filter_tag,
            "NotifyStrategy": s.strategy,
            "NotifyContentFormat": s.content_format,
            "CreateTime": s.create_ms,
            "LastModifyTime": s.modify_ms,
        }
    )


def _subscription(name: str, raw: bytes | str) -> Subscription:
    d = json.loads(text(raw))
    return Subscription(
        name=name,
        endpoint=d["Endpoint"],
        queue=d["Queue"],
        filter_tag=d["FilterTag"],
        strategy=d["NotifyStrategy"],
        content_format=d["NotifyContentFormat"],
        create_ms=int(d["CreateTime"]),
        modify_ms=int(d["LastModifyTime"]),
    )


class TopicStore:
    def __init__(self, client: redis.Redis, keys: MnsKeys, queues: QueueStore | None = None):
        self.client = client
        self.keys = keys
        self.queues = queues or QueueStore(client, keys)

    # --- topics ---

    def create(self, name: str, attributes: dict[str, str], owner: str, now_s: int) -> bool:
        """True when created, False when it exists with these attributes; else
        TopicAlreadyExist."""
        key = self.keys.topic(name)
        full = {**attributes, "TopicOwner": owner, "MessageRetentionPeriod": str(TOPIC_RETENTION)}
        with self.client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)
                    existing = {text(k): text(v) for k, v in pipe.hgetall(key).items()}
                    if existing:
                        if any(existing.get(k) != v for k, v in attributes.items()):
                            raise MnsError(
                                "TopicAlreadyExist",
                                "The topic you want to create already exists with other "
                                "attributes.",
                                409,
                            )
                        return False
                    pipe.multi()
                    record: dict[FieldT, EncodableT] = {k: v for k, v in full.items()}
                    record.update(CreateTime=now_s, LastModifyTime=now_s, MessageCount=0)
                    pipe.hset(key, mapping=record)
                    pipe.zadd(self.keys.topic_names, {name: 0})
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue

    def attributes(self, name: str) -> dict[str, str]:
        found = {text(k): text(v) for k, v in self.client.hgetall(self.keys.topic(name)).items()}
        if not found:
            raise TopicNotExist(name)
        found["TopicName"] = name
        return found

    def set_attributes(self, name: str, attributes: dict[str, str], now_s: int) -> None:
        key = self.keys.topic(name)
        if not self.client.exists(key):
            raise TopicNotExist(name)
        changed: dict[FieldT, EncodableT] = {k: v for k, v in attributes.items()}
        changed["LastModifyTime"] = now_s
        self.client.hset(key, mapping=changed)

    def delete(self, name: str) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(self.keys.topic(name), self.keys.subscriptions(name))
        pipe.zrem(self.keys.topic_names, name)
        pipe.execute()

    def exists(self, name: str) -> bool:
        return bool(self.client.exists(self.keys.topic(name)))

    def names(self, prefix: str, marker: str, limit: int) -> tuple[list[str], str]:
        low = f"[{max(prefix, marker)}" if prefix or marker else "-"
        found = [
            text(n) for n in self.client.zrangebylex(self.keys.topic_names, low, "+", 0, limit + 1)
        ]
        found = [n for n in found if n.startswith(prefix)]
        if len(found) > limit:
            return found[:limit], found[limit]
        return found, ""

    # --- subscriptions ---

    def subscribe(self, topic: str, sub: Subscription) -> bool:
        """True when created, False when it exists with the same settings; else
        SubscriptionAlreadyExist."""
        if not self.exists(topic):
            raise TopicNotExist(topic)
        key = self.keys.subscriptions(topic)
        if self.client.hsetnx(key, sub.name, _subscription_json(sub)):
            return True
        current = self.subscription(topic, sub.name)
        if current.same_settings(sub):
            return False
        raise MnsError(
            "SubscriptionAlreadyExist",
            "The subscription you want to create already exists with other attributes.",
            409,
        )

    def subscription(self, topic: str, name: str) -> Subscription:
        raw = self.client.hget(self.keys.subscriptions(topic), name)
        if raw is None:
            if not self.exists(topic):
                raise TopicNotExist(topic)
            raise subscription_not_exist()
        return _subscription(name, raw)

    def set_strategy(self, topic: str, name: str, strategy: str, now_ms: int) -> None:
        current = self.subscription(topic, name)
        updated = Subscription(
            **{**current.__dict__, "strategy": strategy or current.strategy, "modify_ms": now_ms}
        )
        self.client.hset(self.keys.subscriptions(topic), name, _subscription_json(updated))

    def unsubscribe(self, topic: str, name: str) -> None:
        self.client.hdel(self.keys.subscriptions(topic), name)

    def subscriptions(self, topic: str) -> list[Subscription]:
        if not self.exists(topic):
            raise TopicNotExist(topic)
        raw = self.client.hgetall(self.keys.subscriptions(topic))
        return sorted((_subscription(text(k), v) for k, v in raw.items()), key=lambda s: s.name)

    # --- publishing ---

    def publish(
        self,
        topic: str,
        body: str,
        *,
        tag: str = "",
        properties: str = "",
        check_size: bool = True,
    ) -> str:
        attrs = self.attributes(topic)
        if check_size and len(body.encode("utf-8")) > int(attrs.get("MaximumMessageSize", 65536)):
            raise invalid(
                "The length of the message should not be larger than the topic's "
                "MaximumMessageSize."
            )
        message = Published(
            topic=topic,
            owner=attrs.get("TopicOwner", ""),
            message_id=new_message_id(),
            body=body,
            tag=tag,
            publish_ms=int(time.time() * 1000),
        )
        subs = [s for s in self.subscriptions(topic) if not s.filter_tag or s.filter_tag == tag]
        entries = [
            (
                s.queue,
                Outgoing(
                    body=render(message, s.name, s.content_format),
                    properties=properties,
                    check_size=False,
                ),
            )
            for s in subs
        ]
        results = self.queues.send_many(entries)
        for sub, result in zip(subs, results, strict=True):
            if result.startswith("!"):
                log.warning(
                    "topic %s: subscription %s: queue %s: %s; message %s not delivered there",
                    topic,
                    sub.name,
                    sub.queue,
                    result[1:],
                    message.message_id,
                )
        return message.message_id


def new_message_id() -> str:
    """32 upper-case hex digits, like MNS's MessageId."""
    return secrets.token_hex(16).upper()


def publish_to_topic(
    client: redis.Redis,
    prefix: str,
    topic_name: str,
    body: str,
    *,
    tag: str = "",
    user_properties: Mapping[str, tuple[str, str]] | None = None,
) -> str:
    """Publish `body` to the built-in MNS topic `topic_name` (fan-out to its subscribed queues
    in their NotifyContentFormat) and return the topic MessageId. TopicNotExist if there is
    no such topic. `prefix` is the deployment's key prefix (Settings.key_prefix);
    `user_properties` maps a name to (type, value), MNS's STRING/NUMBER/BOOLEAN/BINARY."""
    properties = ""
    if user_properties:
        properties = json.dumps(
            [{"Name": n, "Type": t, "Value": v} for n, (t, v) in user_properties.items()]
        )
    return TopicStore(client, MnsKeys(prefix)).publish(
        topic_name, body, tag=tag, properties=properties, check_size=False
    )


def topic_exists(client: redis.Redis, prefix: str, topic_name: str) -> bool:
    return TopicStore(client, MnsKeys(prefix)).exists(topic_name)
