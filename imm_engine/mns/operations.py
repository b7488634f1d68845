"""The MNS operations other than receiving: one function per REST resource and method,
request XML in, (status, XML, headers) out. Synchronous (Redis calls); the HTTP layer runs
them in a thread. Receiving, which may wait, is in imm_engine/mns/longpoll.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from imm_engine.mns import attributes as attrs
from imm_engine.mns import wire
from imm_engine.mns.errors import MnsError, QueueNotExist, invalid, malformed_xml
from imm_engine.mns.notification import body_md5
from imm_engine.mns.queues import Outgoing, QueueStore, Stored
from imm_engine.mns.topics import TopicStore


@dataclass(frozen=True)
class Call:
    """One request: method, path segments after the collection, raw query (decoded without
    turning `+` into a space), lower-case headers, body, and the base URL for `location`."""

    method: str
    kind: str  # "queues" or "topics"
    parts: tuple[str, ...]
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    base_url: str

    def param(self, name: str) -> str | None:
        return self.query.get(name.lower())

    def xml(self) -> wire.Element:
        try:
            return wire.parse(self.body)
        except wire.XmlRefused as exc:
            raise malformed_xml(str(exc)) from None


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def now_s() -> int:
    return int(time.time())


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Operations:
    queues: QueueStore
    topics: TopicStore
    owner: str

    # --- dispatch ---

    def handle(self, call: Call) -> Reply:
        handler = self._route(call)
        return handler(call)

    def _route(self, call: Call) -> Callable[[Call], Reply]:
        table: dict[tuple[str, str], Callable[[Call], Reply]] = {
            ("queues", "GET"): self.list_queues,
            ("queue", "PUT"): self.put_queue,
            ("queue", "GET"): self.get_queue,
            ("queue", "DELETE"): self.delete_queue,
            ("queue/messages", "POST"): self.send,
            ("queue/messages", "DELETE"): self.delete_messages,
            ("queue/messages", "PUT"): self.change_visibility,
            ("queue/messages", "GET"): self.peek,
            ("topics", "GET"): self.list_topics,
            ("topic", "PUT"): self.put_topic,
            ("topic", "GET"): self.get_topic,
            ("topic", "DELETE"): self.delete_topic,
            ("topic/messages", "POST"): self.publish,
            ("topic/subscriptions", "GET"): self.list_subscriptions,
            ("topic/subscription", "PUT"): self.put_subscription,
            ("topic/subscription", "GET"): self.get_subscription,
            ("topic/subscription", "DELETE"): self.unsubscribe,
        }
        kind = resource(call)
        handler = table.get((kind, call.method))
        if handler is not None:
            return handler
        if any(k == kind for k, _ in table):
            raise MnsError("MethodNotAllowed", f"{call.method[:16]} is not allowed here.", 405)
        raise MnsError("ResourceNotExist", "The resource you requested does not exist.", 404)

    # --- queues ---

    def put_queue(self, call: Call) -> Reply:
        name = attrs.check_name("queue", call.parts[0])
        root = call.xml() if call.body.strip() else None
        given = attrs.given_attributes(root, attrs.QUEUE_RANGES)
        if call.param("metaoverride") == "true":
            self.queues.set_attributes(name, given, now_s())
            return Reply(204)
        created = self.queues.create(name, attrs.with_defaults(given, attrs.QUEUE_RANGES), now_s())
        location = f"{call.base_url}/queues/{name}"
        return Reply(201 if created else 204, headers={"location": location})

    def get_queue(self, call: Call) -> Reply:
        name = call.parts[0]
        found = self.queues.attributes(name)
        order = [
            "ActiveMessages", "CreateTime", "DelayMessages", "DelaySeconds", "InactiveMessages",
            "LastModifyTime", "MaximumMessageSize", "MessageRetentionPeriod", "QueueName",
            "VisibilityTimeout", "PollingWaitSeconds", "LoggingEnabled",
        ]  # fmt: skip
        return Reply(200, wire.document("Queue", [(k, found.get(k, "")) for k in order]))

    def delete_queue(self, call: Call) -> Reply:
        self.queues.delete(call.parts[0])
        return Reply(204)

    def list_queues(self, call: Call) -> Reply:
        prefix, marker, limit, with_meta = _list_options(call)
        names, next_marker = self.queues.names(prefix, marker, limit)
        items: list[tuple[str, object]] = []
        for name in names:
            fields: list[tuple[str, object]] = [("QueueURL", f"{call.base_url}/queues/{name}")]
            if with_meta:
                try:
                    found = self.queues.attributes(name)
                except QueueNotExist:
                    continue
                fields += [(k, v) for k, v in sorted(found.items()) if v]
            items.append(("Queue", fields))
        if next_marker:
            items.append(("NextMarker", next_marker))
        return Reply(200, wire.document("Queues", items))

    # --- messages ---

    def send(self, call: Call) -> Reply:
        name = call.parts[0]
        root = call.xml()
        if root.tag == "Message":
            message = _outgoing(root)
            [result] = self.queues.send(name, [message])
            if result.startswith("!"):
                raise _send_error(result[1:], name)
            return Reply(201, _sent_document("Message", result, message))
        if root.tag != "Messages":
            raise malformed_xml("the root element must be Message or Messages")
        messages = [_outgoing(m) for m in root.findall("Message")]
        if not 1 <= len(messages) <= attrs.MAX_BATCH:
            raise invalid(f"A batch holds 1 to {attrs.MAX_BATCH} messages.")
        results = self.queues.send(name, messages)
        if all(r == "!QueueNotExist" for r in results):
            raise QueueNotExist(name)
        failed = any(r.startswith("!") for r in results)
        items: list[tuple[str, object]] = []
        for result, message in zip(results, messages, strict=True):
            if result.startswith("!"):
                err = _send_error(result[1:], name)
                items.append(("Message", [("ErrorCode", err.code), ("ErrorMessage", err.message)]))
            else:
                items.append(
                    ("Message", [("MessageId", result), ("MessageBodyMD5", body_md5(message.body))])
                )
        return Reply(500 if failed else 201, wire.document("Messages", items))

    def peek(self, call: Call) -> Reply:
        if call.param("peekonly") != "true":  # receiving is routed to longpoll first
            raise MnsError("ResourceNotExist", "The resource you requested does not exist.", 404)
        count = batch_size(call)
        taken = self.queues.peek(call.parts[0], count or 1)
        if not taken.messages:
            raise MnsError("MessageNotExist", "Message not exist.", 404)
        if count is None:
            return Reply(200, message_document(taken.messages[0], received=False))
        return Reply(200, messages_document(taken.messages, received=False))

    def delete_messages(self, call: Call) -> Reply:
        name = call.parts[0]
        handle = call.param("ReceiptHandle")
        if handle is not None:
            if not handle:
                raise MnsError("MissingReceiptHandle", "The ReceiptHandle is mandatory.", 400)
            self.queues.delete_message(name, handle)
            return Reply(204)
        root = call.xml()
        if root.tag != "ReceiptHandles":
            raise MnsError("MissingReceiptHandle", "The ReceiptHandle is mandatory.", 400)
        handles = [h.text.strip() for h in root.findall("ReceiptHandle")]
        if not 1 <= len(handles) <= attrs.MAX_BATCH:
            raise invalid(f"A batch holds 1 to {attrs.MAX_BATCH} receipt handles.")
        errors: list[tuple[str, object]] = []
        for handle in handles:
            try:
                self.queues.delete_message(name, handle)
            except QueueNotExist:
                raise
            except MnsError as err:
                errors.append(
                    (
                        "Error",
                        [("ErrorCode", err.code), ("ErrorMessage", err.message),
                         ("ReceiptHandle", handle)],
                    )
                )  # fmt: skip
        if errors:
            return Reply(404, wire.document("Errors", errors))
        return Reply(204)

    def change_visibility(self, call: Call) -> Reply:
        handle = call.param("ReceiptHandle")
        if not handle:
            raise MnsError("MissingReceiptHandle", "The ReceiptHandle is mandatory.", 400)
        timeout = call.param("VisibilityTimeout")
        if timeout is None or not timeout.strip():
            raise MnsError("MissingVisibilityTimeout", "The VisibilityTimeout is mandatory.", 400)
        low, high = attrs.QUEUE_RANGES["VisibilityTimeout"][1:]
        seconds = attrs.integer("VisibilityTimeout", timeout, low, high)
        new_handle, next_ms = self.queues.change_visibility(call.parts[0], handle, seconds)
        return Reply(
            200,
            wire.document(
                "ChangeVisibility", [("ReceiptHandle", new_handle), ("NextVisibleTime", next_ms)]
            ),
        )

    # --- topics ---

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
        prefix, marker, limit, with_meta = _list_options(call)
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
        message_id = self.topics.publish(call.parts[0], body, tag=tag, properties=_properties(root))
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
        prefix, marker, limit, _ = _list_options(call)
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


# --- helpers (pure) ---


def resource(call: Call) -> str:
    """What the path names: queues, queue, queue/messages, topics, topic, topic/messages,
    topic/subscriptions, topic/subscription; '' for anything else."""
    parts, single = call.parts, call.kind[:-1]
    if not parts:
        return call.kind
    if len(parts) == 1:
        return single
    if len(parts) == 2 and parts[1] == "messages":
        return f"{single}/messages"
    if call.kind == "topics" and parts[1] == "subscriptions" and len(parts) in (2, 3):
        return "topic/subscriptions" if len(parts) == 2 else "topic/subscription"
    return ""


def batch_size(call: Call) -> int | None:
    """numOfMessages (1-16), or None when absent (a single-message call)."""
    raw = call.param("numOfMessages")
    if raw is None:
        return None
    return attrs.integer("numOfMessages", raw, 1, attrs.MAX_BATCH)


def _list_options(call: Call) -> tuple[str, str, int, bool]:
    prefix = call.headers.get("x-mns-prefix", "")
    marker = call.headers.get("x-mns-marker", "")
    raw = call.headers.get("x-mns-ret-number", "")
    limit = attrs.integer("x-mns-ret-number", raw, 1, 1000) if raw else 1000
    return prefix, marker, limit, call.headers.get("x-mns-with-meta", "").lower() == "true"


def _properties(root: wire.Element) -> str:
    props = root.find("UserProperties")
    if props is None:
        return ""
    values = [
        {
            "Name": p.value("Name") or "",
            "Type": p.value("Type") or "",
            "Value": p.value("Value") or "",
        }
        for p in props.findall("PropertyValue")
    ]
    return json.dumps(values) if values else ""


def _outgoing(root: wire.Element) -> Outgoing:
    body = root.value("MessageBody")
    if not body:
        raise invalid("The MessageBody is mandatory and may not be empty.")
    delay, priority = -1, attrs.PRIORITY_DEFAULT
    raw_delay = root.value("DelaySeconds")
    if raw_delay is not None and raw_delay.strip():
        low, high = attrs.QUEUE_RANGES["DelaySeconds"][1:]
        delay = attrs.integer("DelaySeconds", raw_delay, low, high)
    raw_priority = root.value("Priority")
    if raw_priority is not None and raw_priority.strip():
        priority = attrs.integer("Priority", raw_priority, attrs.PRIORITY_MIN, attrs.PRIORITY_MAX)
    return Outgoing(body=body, delay=delay, priority=priority, properties=_properties(root))


def _send_error(code: str, queue: str) -> MnsError:
    if code == "QueueNotExist":
        return QueueNotExist(queue)
    return MnsError(
        "InvalidArgument",
        "The length of the message should not be larger than the queue's MaximumMessageSize.",
        400,
    )


def _sent_document(root: str, message_id: str, message: Outgoing) -> bytes:
    return wire.document(
        root, [("MessageId", message_id), ("MessageBodyMD5", body_md5(message.body))]
    )


def _message_fields(m: Stored, received: bool) -> list[tuple[str, object]]:
    fields: list[tuple[str, object]] = [("MessageId", m.message_id)]
    if received:
        fields.append(("ReceiptHandle", m.receipt_handle))
    fields += [
        ("MessageBodyMD5", body_md5(m.body)),
        ("MessageBody", m.body),
        ("EnqueueTime", m.enqueue_ms),
    ]
    if received:
        fields.append(("NextVisibleTime", m.next_visible_ms))
    fields += [
        ("FirstDequeueTime", m.first_dequeue_ms),
        ("DequeueCount", m.dequeue_count),
        ("Priority", m.priority),
    ]
    if m.properties:
        values = json.loads(m.properties)
        fields.append(
            (
                "UserProperties",
                [
                    (
                        "PropertyValue",
                        [("Name", v["Name"]), ("Value", v["Value"]), ("Type", v["Type"])],
                    )
                    for v in values
                ],
            )
        )
    return fields


def message_document(m: Stored, received: bool = True) -> bytes:
    return wire.document("Message", _message_fields(m, received))


def messages_document(messages: list[Stored], received: bool = True) -> bytes:
    return wire.document("Messages", [("Message", _message_fields(m, received)) for m in messages])
