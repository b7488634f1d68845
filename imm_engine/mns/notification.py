"""What a queue subscribed to a topic receives, per the subscription's NotifyContentFormat
(pure).

* SIMPLIFIED: the published body itself.
* JSON: MNS's wrapper `{"TopicOwner", "TopicName", "Subscriber", "SubscriptionName",
  "MessageId", "Message", "MessageMD5", "MessageTag"?, "PublishTime"}`, `Message` the published
  body as a string, `MessageMD5` its upper-case hex MD5, `PublishTime` epoch ms as a string.
* XML (MNS's default): `<Notification>` with the same fields as elements.

Never base64: consumers read these with `queue.set_encoding(False)`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from imm_engine.mns import wire


@dataclass(frozen=True)
class Published:
    topic: str
    owner: str
    message_id: str
    body: str
    tag: str
    publish_ms: int

    @property
    def md5(self) -> str:
        return body_md5(self.body)


def body_md5(body: str) -> str:
    return hashlib.md5(body.encode("utf-8")).hexdigest().upper()


def _fields(message: Published, subscription: str) -> list[tuple[str, str]]:
    fields = [
        ("TopicOwner", message.owner),
        ("TopicName", message.topic),
        ("Subscriber", message.owner),
        ("SubscriptionName", subscription),
        ("MessageId", message.message_id),
        ("Message", message.body),
        ("MessageMD5", message.md5),
    ]
    if message.tag:
        fields.append(("MessageTag", message.tag))
    fields.append(("PublishTime", str(message.publish_ms)))
    return fields


def render(message: Published, subscription: str, content_format: str) -> str:
    if content_format == "SIMPLIFIED":
        return message.body
    fields = _fields(message, subscription)
    if content_format == "JSON":
        return json.dumps(dict(fields), ensure_ascii=False, separators=(",", ":"))
    return wire.document("Notification", list(fields)).decode("utf-8")
