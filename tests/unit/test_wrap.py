"""The MNS JSON subscription wrapper (imm_engine/notify/wrap.py), spec section 6.2."""

from __future__ import annotations

import hashlib
import json

from imm_engine.notify.routes import parse_routes
from imm_engine.notify.wrap import body_for, message_id, mns_json

ENVELOPE = {
    "id": "EV-1",
    "source": "acs.imm",
    "type": "imm:Task:OfficeConversion",
    "subject": "acs:imm:cn-hangzhou:1234567890:proj/imm:Task:OfficeConversion",
    "time": "1795373151874",
    "content": json.dumps({"TaskId": "T1", "Status": "Succeeded"}),
}
BODY = json.dumps(ENVELOPE, separators=(",", ":")).encode()


def test_mns_json_fields() -> None:
    wrapped = json.loads(mns_json(BODY, "EV-1", topic="imm-topic", subscription="sub"))
    assert list(wrapped) == [
        "TopicOwner",
        "TopicName",
        "Subscriber",
        "SubscriptionName",
        "MessageId",
        "Message",
        "MessageMD5",
        "PublishTime",
    ]
    assert wrapped["TopicOwner"] == wrapped["Subscriber"] == "1234567890"
    assert wrapped["TopicName"] == "imm-topic"
    assert wrapped["SubscriptionName"] == "sub"
    assert wrapped["Message"] == BODY.decode()  # a string, as MNS sends it
    assert json.loads(wrapped["Message"]) == ENVELOPE
    assert wrapped["MessageMD5"] == hashlib.md5(BODY).hexdigest().upper()
    assert wrapped["PublishTime"] == "1795373151874"
    assert len(wrapped["MessageId"]) == 32 and wrapped["MessageId"] == message_id("EV-1")


def test_mns_json_is_stable_across_retries_and_tags() -> None:
    one = mns_json(BODY, "EV-1", topic="t", subscription="s", tag="done")
    assert one == mns_json(BODY, "EV-1", topic="t", subscription="s", tag="done")
    assert json.loads(one)["MessageTag"] == "done"
    assert message_id("EV-1") != message_id("EV-2")


def test_mns_json_of_a_body_that_is_not_an_envelope() -> None:
    wrapped = json.loads(mns_json(b"[1, 2]", "E", topic="t", subscription="s"))
    assert wrapped["Message"] == "[1, 2]" and wrapped["TopicOwner"] == ""


def test_body_for_follows_the_destination() -> None:
    routes = parse_routes(
        {
            "mns:imm-topic": [
                {"type": "webhook", "url": "https://example.com/"},
                {"type": "webhook", "url": "https://example.com/", "wrap": "mns-json"},
            ]
        }
    )
    raw, wrapped = routes.by_key["mns:imm-topic"]
    assert body_for(raw, BODY, "EV-1") == BODY
    assert json.loads(body_for(wrapped, BODY, "EV-1"))["TopicName"] == "imm-topic"
