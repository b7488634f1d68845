"""Messages in MNS XML, both ways (pure): a `<Message>` request into an `Outgoing`, stored
messages into the `<Message>`/`<Messages>` answers the SDK decodes (all nine fields of a
received message, user properties)."""

from __future__ import annotations

import json

from imm_engine.mns import attributes as attrs
from imm_engine.mns import wire
from imm_engine.mns.errors import MnsError, QueueNotExist, invalid
from imm_engine.mns.notification import body_md5
from imm_engine.mns.queues import Outgoing, Stored


def properties(root: wire.Element) -> str:
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


def outgoing(root: wire.Element) -> Outgoing:
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
    return Outgoing(body=body, delay=delay, priority=priority, properties=properties(root))


def send_error(code: str, queue: str) -> MnsError:
    if code == "QueueNotExist":
        return QueueNotExist(queue)
    return MnsError(
        "InvalidArgument",
        "The length of the message should not be larger than the queue's MaximumMessageSize.",
        400,
    )


def sent_document(root: str, message_id: str, message: Outgoing) -> bytes:
    return wire.document(
        root, [("MessageId", message_id), ("MessageBodyMD5", body_md5(message.body))]
    )


def message_fields(m: Stored, received: bool) -> list[tuple[str, object]]:
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
    return wire.document("Message", message_fields(m, received))


def messages_document(messages: list[Stored], received: bool = True) -> bytes:
    return wire.document("Messages", [("Message", message_fields(m, received)) for m in messages])
