"""The pure parts of the built-in MNS: XML in and out, signatures, query parsing, attributes,
topic -> queue content formats (imm_engine/mns/).

Known-good signatures come from the spec (B.3, computed with the SDK's
`MNSClient.get_signature`) and from the SDK's own signing code, never from the module under
test; answers are decoded with the SDK's own decoders.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mns.mns_client import MNSClient
from mns.mns_exception import MNSClientNetworkException
from mns.mns_xml_handler import (
    ErrorDecoder,
    GetQueueAttrDecoder,
    ListSubscriptionByTopicDecoder,
    MessageEncoder,
    PeekMessageDecoder,
    RecvMessageDecoder,
)
from mns.queue import Message

from imm_engine.mns import attributes, signature, wire
from imm_engine.mns.app import parse_query
from imm_engine.mns.call import Call
from imm_engine.mns.documents import message_document
from imm_engine.mns.errors import MnsError
from imm_engine.mns.notification import Published, render
from imm_engine.mns.operations import operation_name
from imm_engine.mns.queues import Stored, message_id_of

DATE = "Thu, 15 Nov 2018 02:42:31 GMT"
PUBLISH_BODY = (
    '<?xml version="1.0" encoding="utf-8"?><Message xmlns="http://mns.aliyuncs.com/doc/v1/">'
    "<MessageBody>hello</MessageBody></Message>"
)

# (method, headers, resource, expected Authorization) from the spec's section B.3/B.4.
VECTORS = [
    (
        "GET",
        {"date": DATE, "x-mns-version": "2015-06-06"},
        "/queues/imm-queue/messages?waitseconds=10",
        "MNS testid:LmSZzXR+DmLojzUUdfqOXNHSn+8=",
    ),
    (
        "POST",
        {
            "date": DATE,
            "x-mns-version": "2015-06-06",
            "content-md5": "NGNhMzg2ZGZmOWFjMDMxNTllMDMyMDEzNTJkMDRiZDQ=",
            "content-type": "text/xml;charset=UTF-8",
        },
        "/topics/imm-topic/messages",
        "MNS testid:af9vml6WTLiHT1hFkqwnC6T7Wyw=",
    ),
    (
        "GET",
        {"date": "Sat, 05 Dec 2026 18:35:10 GMT", "x-mns-version": "2015-06-06"},
        "/queues/imm-queue/messages?waitseconds=1",
        "MNS testid:svo4kI9CLBrdkvtDg6qVEy1vcQI=",
    ),
]


@pytest.mark.parametrize(("method", "headers", "resource", "expected"), VECTORS)
def test_signature_vectors(
    method: str, headers: dict[str, str], resource: str, expected: str
) -> None:
    assert signature.authorization("testid", "testsecret", method, headers, resource) == expected


def test_content_md5_of_the_vector_is_base64_of_the_hex_digest() -> None:
    hex_md5 = hashlib.md5(PUBLISH_BODY.encode()).hexdigest()
    assert base64.b64encode(hex_md5.encode()).decode() == VECTORS[1][1]["content-md5"]


def _sdk_signed(method: str, resource: str, extra: dict[str, str]) -> dict[str, str]:
    headers = {"date": DATE, "x-mns-version": "2015-06-06", **extra}
    credential = SimpleNamespace(
        get_access_key_id=lambda: "testid", get_access_key_secret=lambda: "testsecret"
    )
    client = MNSClient("http://127.0.0.1:1", "testid", "testsecret")  # never connects
    return {**headers, "authorization": client.get_signature(method, headers, resource, credential)}


@pytest.mark.parametrize(
    ("method", "resource", "extra"),
    [
        ("GET", "/queues/q/messages?numOfMessages=16&waitseconds=1", {}),
        ("DELETE", "/queues/q/messages?ReceiptHandle=ABC-def+x", {}),
        ("GET", "/queues", {"x-mns-prefix": "imm", "x-mns-ret-number": "10"}),
        ("PUT", "/topics/t/subscriptions/s", {"content-type": "text/xml;charset=UTF-8"}),
    ],
)
def test_verify_accepts_what_the_sdk_signs(
    method: str, resource: str, extra: dict[str, str]
) -> None:
    headers = _sdk_signed(method, resource, extra)
    now = signature.request_time(headers)
    keys = {"testid": "testsecret"}
    assert signature.verify(method, headers, resource, keys, now, 900) == "testid"


@pytest.mark.parametrize(
    ("change", "code", "status"),
    [
        ({"authorization": ""}, "AccessDenied", 403),
        ({"authorization": "Bearer x"}, "InvalidAuthorizationHeader", 400),
        ({"authorization": "MNS testid"}, "InvalidAuthorizationHeader", 400),
        ({"authorization": "MNS nobody:abc="}, "InvalidAccessKeyId", 403),
        (
            {"authorization": "MNS testid:LmSZzXR+DmLojzUUdfqOXNHSn+9="},
            "SignatureDoesNotMatch",
            403,
        ),
        ({"x-mns-version": "2015-06-07"}, "SignatureDoesNotMatch", 403),
    ],
)
def test_verify_refuses(change: dict[str, str], code: str, status: int) -> None:
    method, _, resource, _ = VECTORS[0]
    signed = {**_sdk_signed(method, resource, {}), **change}
    with pytest.raises(MnsError) as caught:
        signature.verify(method, signed, resource, {"testid": "testsecret"}, 1542249751, 900)
    assert (caught.value.code, caught.value.status) == (code, status)


def test_verify_refuses_a_stale_date_and_a_bad_one() -> None:
    method, _, resource, _ = VECTORS[0]
    signed = _sdk_signed(method, resource, {})
    sent = signature.request_time(signed)
    keys = {"testid": "testsecret"}
    with pytest.raises(MnsError) as caught:
        signature.verify(method, signed, resource, keys, sent + 901, 900)
    assert (caught.value.code, caught.value.status) == ("TimeExpired", 408)
    with pytest.raises(MnsError) as bad:
        signature.request_time({"date": "yesterday"})
    assert bad.value.code == "InvalidDateHeader"


def test_query_keeps_plus_and_ignores_name_case() -> None:
    query = parse_query(b"ReceiptHandle=AB+cd%2Fe&VisibilityTimeout=10&waitSeconds=3&x")
    assert query == {
        "receipthandle": "AB+cd/e",
        "visibilitytimeout": "10",
        "waitseconds": "3",
        "x": "",
    }


# --- XML in ---


def test_parse_what_the_sdk_sends() -> None:
    msg = Message('body with "quotes" & <tags> 中文\r\nline')
    msg.set_delayseconds(3)
    msg.set_priority(2)
    msg.base64encode = False
    root = wire.parse(MessageEncoder.encode(msg))
    assert root.tag == "Message"
    assert root.value("MessageBody") == 'body with "quotes" & <tags> 中文\r\nline'.replace(
        "\r\n", "\n"
    )
    assert (root.value("DelaySeconds"), root.value("Priority")) == ("3", "2")


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b"<Message><MessageBody>&b;</MessageBody></Message>",
        b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<Message><MessageBody>&x;</MessageBody></Message>",
        b'<!DOCTYPE m SYSTEM "http://127.0.0.1:1/evil.dtd"><Message/>',
        b"<Message><MessageBody>&undefined;</MessageBody></Message>",
        b"<Message><MessageBody>unclosed</Message>",
        b"",
        b"   ",
        b"not xml at all",
        b"<a>" * 20 + b"</a>" * 20,
    ],
)
def test_parse_refuses_hostile_or_broken_documents(document: bytes) -> None:
    with pytest.raises(wire.XmlRefused):
        wire.parse(document)


@given(st.binary(max_size=300))
def test_parse_raises_only_xml_refused(data: bytes) -> None:
    with contextlib.suppress(wire.XmlRefused):
        wire.parse(data)


# --- XML out, read back by the SDK's decoders ---

STORED = Stored(
    message_id="0000000000000001ABCDEF0123456789",
    body='{"events":[{"imm":{"code":"NoError"}}]} & <中文>\r\n',
    enqueue_ms=1796495710013,
    first_dequeue_ms=1796495710059,
    dequeue_count=2,
    priority=8,
    properties=json.dumps([{"Name": "EventId", "Type": "STRING", "Value": "e-1"}]),
    receipt_handle="0000000000000001ABCDEF0123456789-0123456789abcdef",
    next_visible_ms=1796495740059,
)


def test_received_message_decodes_with_all_nine_fields() -> None:
    xml = message_document(STORED).decode()
    assert "ns0:" not in xml and 'xmlns="http://mns.aliyuncs.com/doc/v1/"' in xml
    data = RecvMessageDecoder.decode(xml, False)
    assert data["MessageBody"] == STORED.body
    assert data["MessageBodyMD5"] == hashlib.md5(STORED.body.encode()).hexdigest().upper()
    assert (data["DequeueCount"], data["Priority"]) == ("2", "8")
    assert data["ReceiptHandle"] == STORED.receipt_handle
    assert data["UserProperties"]["EventId"].get_string_value_by_type() == "e-1"


def test_peeked_message_decodes_without_a_handle() -> None:
    xml = message_document(STORED, received=False).decode()
    assert "ReceiptHandle" not in xml
    assert PeekMessageDecoder.decode(xml, False)["EnqueueTime"] == "1796495710013"


def test_error_and_attribute_documents_decode() -> None:
    xml = wire.error_document("QueueNotExist", "gone & <away>", "RID", "http://h").decode()
    assert ErrorDecoder.decodeError(xml) == (
        "QueueNotExist",
        "gone & <away>",
        "RID",
        "http://h",
        None,
    )
    names = [
        "ActiveMessages", "CreateTime", "DelayMessages", "DelaySeconds", "InactiveMessages",
        "LastModifyTime", "MaximumMessageSize", "MessageRetentionPeriod", "QueueName",
        "VisibilityTimeout", "PollingWaitSeconds",
    ]  # fmt: skip
    incomplete = wire.document("Queue", [(n, "1") for n in names]).decode()
    with pytest.raises(MNSClientNetworkException):  # the SDK wants every field
        GetQueueAttrDecoder.decode(incomplete)
    complete = wire.document("Queue", [(n, "1") for n in [*names, "LoggingEnabled"]]).decode()
    assert GetQueueAttrDecoder.decode(complete)["QueueName"] == "1"


def test_nested_list_document_decodes() -> None:
    items: list[tuple[str, object]] = [
        ("Subscription", [("SubscriptionURL", f"http://h/topics/t/subscriptions/s{i}")])
        for i in range(3)
    ]
    xml = wire.document("Subscriptions", [*items, ("NextMarker", "s3")]).decode()
    urls, marker = ListSubscriptionByTopicDecoder.decode(xml)
    assert urls == [f"http://h/topics/t/subscriptions/s{i}" for i in range(3)]
    assert marker == "s3"


# --- receipt handles, names, attributes ---


@pytest.mark.parametrize(
    "handle",
    ["", "x", "1-ODU4OTkzNDU5My0xNDMyNzI3ODI3LTItOA", "0000000000000001ABCDEF0123456789",
     "0000000000000001abcdef0123456789-0123456789abcdef",
     "0000000000000001ABCDEF0123456789 0123456789abcdef"],
)  # fmt: skip
def test_malformed_receipt_handle(handle: str) -> None:
    with pytest.raises(MnsError) as caught:
        message_id_of(handle)
    assert (caught.value.code, caught.value.status) == ("ReceiptHandleError", 400)


def test_well_formed_receipt_handle() -> None:
    assert message_id_of(STORED.receipt_handle) == STORED.message_id


@pytest.mark.parametrize(
    ("name", "ok"),
    [("imm-queue", True), ("A", True), ("a" * 256, True), ("a" * 257, False), ("1abc", False),
     ("-a", False), ("a_b", False), ("a:b", False), ("", False), ("队列", False), ("a/b", False)],
)  # fmt: skip
def test_names(name: str, ok: bool) -> None:
    if ok:
        assert attributes.check_name("queue", name) == name
    else:
        with pytest.raises(MnsError):
            attributes.check_name("queue", name)


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        ("<Queue/>", {}),
        ("<Queue><VisibilityTimeout>1</VisibilityTimeout><LoggingEnabled>True</LoggingEnabled></Queue>",
         {"VisibilityTimeout": "1", "LoggingEnabled": "True"}),
        ("<Queue><DelaySeconds>604800</DelaySeconds><Unknown>x</Unknown></Queue>",
         {"DelaySeconds": "604800"}),
        ("<Queue><VisibilityTimeout>0</VisibilityTimeout></Queue>", "InvalidArgument"),
        ("<Queue><MaximumMessageSize>1023</MaximumMessageSize></Queue>", "InvalidArgument"),
        ("<Queue><MaximumMessageSize>65537</MaximumMessageSize></Queue>", "InvalidArgument"),
        ("<Queue><PollingWaitSeconds>31</PollingWaitSeconds></Queue>", "InvalidArgument"),
        ("<Queue><MessageRetentionPeriod>59</MessageRetentionPeriod></Queue>", "InvalidArgument"),
        ("<Queue><DelaySeconds>x</DelaySeconds></Queue>", "InvalidArgument"),
        ("<Queue><LoggingEnabled>maybe</LoggingEnabled></Queue>", "InvalidArgument"),
    ],
)  # fmt: skip
def test_queue_attributes(xml: str, expected: dict[str, str] | str) -> None:
    root = wire.parse(xml.encode())
    if isinstance(expected, str):
        with pytest.raises(MnsError) as caught:
            attributes.given_attributes(root, attributes.QUEUE_RANGES)
        assert caught.value.code == expected
    else:
        assert attributes.given_attributes(root, attributes.QUEUE_RANGES) == expected


@pytest.mark.parametrize(
    ("endpoint", "queue"),
    [
        ("acs:mns:cn-beijing:1234567890123456:queues/imm-queue", "imm-queue"),
        ("acs:mns:local:0:/queues/q1", "q1"),
        ("http://example.com/notify", None),
        ("mail:directmail:a@b.c", None),
        ("acs:mns:cn-beijing:1:queues/bad_name", None),
        ("acs:mns:cn-beijing:1:topics/t", None),
    ],
)
def test_subscription_endpoints(endpoint: str, queue: str | None) -> None:
    if queue:
        assert attributes.queue_from_endpoint(endpoint) == queue
    else:
        with pytest.raises(MnsError) as caught:
            attributes.queue_from_endpoint(endpoint)
        assert caught.value.code in ("InvalidArgument", "InvalidQueueName")


# --- what a subscribed queue receives ---

PUBLISHED = Published(
    topic="imm-topic",
    owner="1234567890123456",
    message_id="CCB3",
    body='{"events":[{"eventName":"FormatConvertJob:JobFinished"}]}',
    tag="",
    publish_ms=1542189080663,
)


def test_json_wrapper() -> None:
    wrapped = json.loads(render(PUBLISHED, "imm-sub", "JSON"))
    assert wrapped == {
        "TopicOwner": "1234567890123456",
        "TopicName": "imm-topic",
        "Subscriber": "1234567890123456",
        "SubscriptionName": "imm-sub",
        "MessageId": "CCB3",
        "Message": PUBLISHED.body,
        "MessageMD5": hashlib.md5(PUBLISHED.body.encode()).hexdigest().upper(),
        "PublishTime": "1542189080663",
    }
    assert (
        json.loads(wrapped["Message"])["events"][0]["eventName"] == "FormatConvertJob:JobFinished"
    )


def test_simplified_and_xml_formats() -> None:
    assert render(PUBLISHED, "s", "SIMPLIFIED") == PUBLISHED.body
    tagged = Published(**{**PUBLISHED.__dict__, "tag": "imm", "body": "5页Word <done> & 완료"})
    root = wire.parse(render(tagged, "s", "XML").encode())
    assert root.tag == "Notification"
    assert root.value("Message") == "5页Word <done> & 완료"
    assert (root.value("MessageTag"), root.value("PublishTime")) == ("imm", "1542189080663")
    assert root.value("SubscriptionName") == "s"


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("PUT", "queues/q", "MNS.CreateQueue"),
        ("GET", "queues/q/messages", "MNS.ReceiveMessage"),
        ("POST", "topics/t/messages", "MNS.PublishMessage"),
        ("PUT", "topics/t/subscriptions/s", "MNS.Subscribe"),
        ("GET", "queues", "MNS.ListQueue"),
        ("PATCH", "queues/q", "MNS.other"),
        ("GET", "queues/q/x/y", "MNS.other"),
    ],
)
def test_operation_names(method: str, path: str, name: str) -> None:
    parts = path.split("/")
    assert operation_name(Call(method, parts[0], tuple(parts[1:]), {}, {}, b"", "")) == name
