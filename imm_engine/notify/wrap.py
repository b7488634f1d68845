"""The MNS JSON subscription wrapper (pure).

An MNS topic subscription with `NotifyContentFormat=JSON` hands its consumer

    {"TopicOwner": ..., "TopicName": ..., "Subscriber": ..., "SubscriptionName": ...,
     "MessageId": ..., "Message": "<the published body, as a string>", "MessageMD5": ...,
     "MessageTag": ..., "PublishTime": "<epoch ms>"}

Consumers written against IMM-on-MNS parse `Message`. A destination with `"wrap": "mns-json"`
sends this wrapper around IMM's envelope. Every field is derived from the envelope, so a
retried delivery is byte-identical to the first: `MessageId` from the EventId, `PublishTime`
from the envelope's `time`, `TopicOwner`/`Subscriber` from the account in its `subject`.
"""

from __future__ import annotations

import hashlib
import json

from imm_engine.notify.routes import Destination


def message_id(event_id: str) -> str:
    """An MNS-style message id (32 upper-case hex digits), stable for one EventId."""
    return hashlib.md5(event_id.encode()).hexdigest().upper()


def mns_json(body: bytes, event_id: str, *, topic: str, subscription: str, tag: str = "") -> bytes:
    text = body.decode("utf-8")
    owner, publish_time = "", ""
    try:
        envelope = json.loads(text)
        subject = str(envelope.get("subject", ""))  # acs:imm:<region>:<account>:<project>/...
        parts = subject.split(":")
        owner = parts[3] if len(parts) > 4 else ""
        publish_time = str(envelope.get("time", ""))
    except (ValueError, AttributeError):
        pass
    wrapped: dict[str, str] = {
        "TopicOwner": owner,
        "TopicName": topic,
        "Subscriber": owner,
        "SubscriptionName": subscription,
        "MessageId": message_id(event_id),
        "Message": text,
        "MessageMD5": hashlib.md5(body).hexdigest().upper(),
    }
    if tag:
        wrapped["MessageTag"] = tag
    wrapped["PublishTime"] = publish_time
    return json.dumps(wrapped, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def body_for(dest: Destination, body: bytes, event_id: str, tag: str = "") -> bytes:
    """What `dest` is sent: the envelope itself, or wrapped as its `wrap` option asks."""
    if dest.wrap == "mns-json":
        return mns_json(
            body, event_id, topic=dest.wrap_topic, subscription=dest.wrap_subscription, tag=tag
        )
    return body
