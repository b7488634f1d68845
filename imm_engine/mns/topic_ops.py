"""The topic and subscription operations: one method per REST resource and method, request
in, answer out. Synchronous (Redis calls)."""

from __future__ import annotations

from dataclasses import dataclass

from imm_engine.mns import attributes as attrs
from imm_engine.mns import wire
from imm_engine.mns.call import Call, Reply, list_options, now_ms, now_s
from imm_engine.mns.documents import properties
from imm_engine.mns.errors import invalid, malformed_xml
from imm_engine.mns.notification import body_md5
from imm_engine.mns.topics import TopicStore


@dataclass
class TopicOperations:
    topics: TopicStore
    owner: str

    def put_topic(self, call: Call) -> Reply:
        name = attrs.check_name("topic", call.parts[0])
        root = call.xml() if call.body.strip() else None
        given = attrs.given_attributes(root, attrs.TOPIC_RANGES)
        if call.param("metaoverride") == "true":
            self.topics.set_attributes(name, given, now_s())
            return Reply(204)
        full = attrs.with_defaults(given, attrs.TOPIC_RANGES)
        created = self.topics.create(name, full, self.owner, now_s())
        return Reply(
            201 if created else 204, headers={"location": f"{call.base_url}/topics/{name}"}
        )

    def get_topic(self, call: Call) -> Reply:
        found = self.topics.attributes(call.parts[0])
        order = [
            "MessageCount", "CreateTime", "LastModifyTime", "MaximumMessageSize",
            "MessageRetentionPeriod", "TopicName", "LoggingEnabled",
        ]  # fmt: skip
        return Reply(200, wire.document("Topic", [(k, found.get(k, "")) for k in order]))

    def delete_topic(self, call: Call) -> Reply:
        self.topics.delete(call.parts[0])
        return Reply(204)

    def list_topics(self, call: Call) -> Reply:
        prefix, marker, limit, with_meta = list_options(call)
        names, next_marker = self.topics.names(prefix, marker, limit)
        items: list[tuple[str, object]] = []
        for name in names:
            fields: list[tuple[str, object]] = [("TopicURL", f"{call.base_url}/topics/{name}")]
            if with_meta:
                found = self.topics.attributes(name)
                fields += [(k, v) for k, v in sorted(found.items()) if v]
            items.append(("Topic", fields))
        if next_marker:
            items.append(("NextMarker", next_marker))
        return Reply(200, wire.document("Topics", items))

    def publish(self, call: Call) -> Reply:
        root = call.xml()
        if root.tag != "Message":
            raise malformed_xml("the root element must be Message")
        body = root.value("MessageBody")
        if not body:
            raise invalid("The MessageBody is mandatory and may not be empty.")
        tag = (root.value("MessageTag") or "").strip()
        if len(tag) > 16:
            raise invalid("The MessageTag should be at most 16 characters.")
        message_id = self.topics.publish(call.parts[0], body, tag=tag, properties=properties(root))
        return Reply(
            201,
            wire.document(
                "Message", [("MessageId", message_id), ("MessageBodyMD5", body_md5(body))]
            ),
        )

    # --- subscriptions ---

    def put_subscription(self, call: Call) -> Reply:
        topic, name = call.parts[0], attrs.check_name("subscription", call.parts[2])
        root = call.xml()
        if call.param("metaoverride") == "true":
            strategy = root.value("NotifyStrategy")
            chosen = attrs.choice("NotifyStrategy", strategy, attrs.NOTIFY_STRATEGIES)
            self.topics.set_strategy(topic, name, chosen, now_ms())
            return Reply(204)
        sub = attrs.subscription_from_xml(name, root, now_ms())
        created = self.topics.subscribe(topic, sub)
        location = f"{call.base_url}/topics/{topic}/subscriptions/{name}"
        return Reply(201 if created else 204, headers={"location": location})

    def get_subscription(self, call: Call) -> Reply:
        topic, name = call.parts[0], call.parts[2]
        sub = self.topics.subscription(topic, name)
        owner = self.topics.attributes(topic).get("TopicOwner", self.owner)
        fields: list[tuple[str, object]] = [
            ("TopicOwner", owner),
            ("TopicName", topic),
            ("SubscriptionName", name),
            ("Endpoint", sub.endpoint),
            ("NotifyStrategy", sub.strategy),
            ("NotifyContentFormat", sub.content_format),
            ("CreateTime", sub.create_ms // 1000),
            ("LastModifyTime", sub.modify_ms // 1000),
        ]
        if sub.filter_tag:
            fields.append(("FilterTag", sub.filter_tag))
        return Reply(200, wire.document("Subscription", fields))

    def unsubscribe(self, call: Call) -> Reply:
        self.topics.unsubscribe(call.parts[0], call.parts[2])
        return Reply(204)

    def list_subscriptions(self, call: Call) -> Reply:
        topic = call.parts[0]
        prefix, marker, limit, _ = list_options(call)
        subs = [s for s in self.topics.subscriptions(topic) if s.name.startswith(prefix)]
        subs = [s for s in subs if s.name >= marker]
        items: list[tuple[str, object]] = [
            (
                "Subscription",
                [("SubscriptionURL", f"{call.base_url}/topics/{topic}/subscriptions/{s.name}")],
            )
            for s in subs[:limit]
        ]
        if len(subs) > limit:
            items.append(("NextMarker", subs[limit].name))
        return Reply(200, wire.document("Subscriptions", items))
