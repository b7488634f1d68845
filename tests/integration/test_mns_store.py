"""The MNS queue and topic stores against the real Redis (imm_engine/mns/queues.py, topics.py).

Times are given to the Lua scripts explicitly (`now_ms`) where a test needs minutes to pass
(retention, delay, visibility), so nothing sleeps; the end-to-end tests do the same with the
real clock through the SDK.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imm_engine.mns import publish_to_topic, topic_exists
from imm_engine.mns.attributes import QUEUE_RANGES, Subscription, with_defaults
from imm_engine.mns.call import Call
from imm_engine.mns.errors import MnsError, QueueNotExist, TopicNotExist
from imm_engine.mns.keys import MnsKeys
from imm_engine.mns.operations import Operations
from imm_engine.mns.queues import Outgoing, QueueStore
from imm_engine.mns.topics import TopicStore

T0 = 1_796_000_000_000  # a fixed "now" in ms


@pytest.fixture()
def client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url)


@pytest.fixture()
def mkeys(client: redis.Redis) -> Iterator[MnsKeys]:
    k = MnsKeys(f"immtest{uuid.uuid4().hex[:8]}")
    yield k
    for key in client.scan_iter(f"{k.prefix}*"):
        client.delete(key)


@pytest.fixture()
def queues(client: redis.Redis, mkeys: MnsKeys) -> QueueStore:
    return QueueStore(client, mkeys)


def make(queues: QueueStore, name: str = "q", **attrs: int) -> str:
    given = {k: str(v) for k, v in attrs.items()}
    assert queues.create(name, with_defaults(given, QUEUE_RANGES), T0 // 1000)
    return name


def test_create_same_is_accepted_other_attributes_refused(queues: QueueStore) -> None:
    make(queues, "q", VisibilityTimeout=5)
    same = with_defaults({"VisibilityTimeout": "5"}, QUEUE_RANGES)
    assert queues.create("q", same, T0 // 1000) is False
    with pytest.raises(MnsError) as caught:
        queues.create("q", with_defaults({"VisibilityTimeout": "6"}, QUEUE_RANGES), T0 // 1000)
    assert (caught.value.code, caught.value.status) == ("QueueAlreadyExist", 409)


def test_receive_hides_then_redelivers_with_a_new_handle(queues: QueueStore) -> None:
    make(queues, VisibilityTimeout=2)
    [message_id] = queues.send("q", [Outgoing("hello")], now_ms=T0)
    first = queues.receive("q", 1, now_ms=T0 + 10).messages[0]
    assert (first.message_id, first.body, first.dequeue_count) == (message_id, "hello", 1)
    assert first.next_visible_ms == T0 + 10 + 2000
    assert first.first_dequeue_ms == T0 + 10
    # invisible until then: nobody else gets it
    assert queues.receive("q", 1, now_ms=T0 + 1999).messages == []
    again = queues.receive("q", 1, now_ms=T0 + 2010).messages[0]
    assert again.message_id == message_id
    assert again.dequeue_count == 2
    assert again.first_dequeue_ms == T0 + 10  # unchanged
    assert again.receipt_handle != first.receipt_handle
    # the first handle is stale now
    with pytest.raises(MnsError) as caught:
        queues.delete_message("q", first.receipt_handle, now_ms=T0 + 2020)
    assert (caught.value.code, caught.value.status) == ("MessageNotExist", 404)
    queues.delete_message("q", again.receipt_handle, now_ms=T0 + 2020)
    # used once: refused the second time, and the message is gone for good
    with pytest.raises(MnsError):
        queues.delete_message("q", again.receipt_handle, now_ms=T0 + 2030)
    assert queues.receive("q", 1, now_ms=T0 + 100_000).messages == []


def test_handle_expires_at_next_visible_time(queues: QueueStore) -> None:
    make(queues, VisibilityTimeout=2)
    queues.send("q", [Outgoing("x")], now_ms=T0)
    held = queues.receive("q", 1, now_ms=T0).messages[0]
    with pytest.raises(MnsError) as caught:  # past NextVisibleTime, not yet settled
        queues.delete_message("q", held.receipt_handle, now_ms=T0 + 2000)
    assert caught.value.code == "MessageNotExist"
    assert queues.attributes("q", now_ms=T0 + 2000)["ActiveMessages"] == "1"


def test_change_visibility_gives_a_new_handle(queues: QueueStore) -> None:
    make(queues, VisibilityTimeout=2)
    queues.send("q", [Outgoing("x")], now_ms=T0)
    held = queues.receive("q", 1, now_ms=T0).messages[0]
    handle, next_ms = queues.change_visibility("q", held.receipt_handle, 60, now_ms=T0 + 1000)
    assert next_ms == T0 + 61_000 and handle != held.receipt_handle
    with pytest.raises(MnsError):
        queues.change_visibility("q", held.receipt_handle, 60, now_ms=T0 + 1001)
    assert queues.receive("q", 1, now_ms=T0 + 30_000).messages == []  # still hidden
    queues.delete_message("q", handle, now_ms=T0 + 30_000)
    assert queues.attributes("q", now_ms=T0 + 90_000)["ActiveMessages"] == "0"


def test_delay_and_attribute_counts(queues: QueueStore) -> None:
    make(queues, DelaySeconds=10)
    queues.send("q", [Outgoing("queue default delay"), Outgoing("now", delay=0)], now_ms=T0)
    counts = queues.attributes("q", now_ms=T0 + 1)
    assert (counts["ActiveMessages"], counts["DelayMessages"]) == ("1", "1")
    taken = queues.receive("q", 16, now_ms=T0 + 1).messages
    assert [m.body for m in taken] == ["now"]
    assert queues.attributes("q", now_ms=T0 + 2)["InactiveMessages"] == "1"
    assert queues.receive("q", 16, now_ms=T0 + 9_999).messages == []
    assert [m.body for m in queues.receive("q", 16, now_ms=T0 + 10_000).messages] == [
        "queue default delay"
    ]


def test_next_due_is_reported_when_nothing_is_visible(queues: QueueStore) -> None:
    make(queues)
    assert queues.receive("q", 1, now_ms=T0).next_due_ms == -1
    queues.send("q", [Outgoing("later", delay=5)], now_ms=T0)
    assert queues.receive("q", 1, now_ms=T0 + 1).next_due_ms == T0 + 5000


def test_retention_removes_messages_received_or_not(queues: QueueStore) -> None:
    make(queues, MessageRetentionPeriod=60, VisibilityTimeout=30)
    queues.send("q", [Outgoing("a"), Outgoing("b")], now_ms=T0)
    queues.receive("q", 1, now_ms=T0)  # "a" is held
    queues.send("q", [Outgoing("c")], now_ms=T0 + 30_000)
    assert queues.attributes("q", now_ms=T0 + 59_999)["ActiveMessages"] == "3"  # a is back
    after = queues.attributes("q", now_ms=T0 + 60_000)
    assert (after["ActiveMessages"], after["InactiveMessages"]) == ("1", "0")
    assert [m.body for m in queues.peek("q", 16, now_ms=T0 + 60_000).messages] == ["c"]


def test_maximum_message_size_counts_utf8_bytes(queues: QueueStore) -> None:
    make(queues, MaximumMessageSize=1024)
    fits = "页" * 341  # 1023 bytes
    results = queues.send("q", [Outgoing(fits), Outgoing(fits + "页")], now_ms=T0)
    assert not results[0].startswith("!")
    assert results[1] == "!MessageTooLarge"
    # a topic delivery is never refused for size
    assert not queues.send("q", [Outgoing("x" * 5000, check_size=False)])[0].startswith("!")


def test_priority_then_sending_order(queues: QueueStore) -> None:
    make(queues)
    queues.send(
        "q",
        [
            Outgoing("p8-1"),
            Outgoing("p1", priority=1),
            Outgoing("p8-2"),
            Outgoing("p16", priority=16),
        ],
        now_ms=T0,
    )
    assert [m.body for m in queues.receive("q", 16, now_ms=T0).messages] == [
        "p1",
        "p8-1",
        "p8-2",
        "p16",
    ]


def test_peek_changes_nothing(queues: QueueStore) -> None:
    make(queues)
    queues.send("q", [Outgoing("x")], now_ms=T0)
    for _ in range(3):
        [peeked] = queues.peek("q", 16, now_ms=T0).messages
        assert (peeked.dequeue_count, peeked.receipt_handle) == (0, "")
    assert queues.receive("q", 1, now_ms=T0).messages[0].dequeue_count == 1


def test_missing_queue(queues: QueueStore) -> None:
    for call in (
        lambda: queues.receive("nope", 1),
        lambda: queues.peek("nope", 1),
        lambda: queues.attributes("nope"),
        lambda: queues.delete_message("nope", "0000000000000001ABCDEF0123456789-0123456789abcdef"),
    ):
        with pytest.raises(QueueNotExist):
            call()
    assert queues.send("nope", [Outgoing("x")]) == ["!QueueNotExist"]


def test_delete_queue_removes_everything(queues: QueueStore, client: redis.Redis) -> None:
    make(queues)
    queues.send("q", [Outgoing("x"), Outgoing("y", delay=5)])
    queues.receive("q", 1)
    queues.delete("q")
    assert not queues.exists("q")
    assert list(client.scan_iter(f"{queues.keys.queue('q')}*")) == []
    assert queues.names("", "", 100) == ([], "")


def test_list_names_with_prefix_and_marker(queues: QueueStore) -> None:
    for name in ("a1", "b1", "b2", "b3", "c1"):
        make(queues, name)
    assert queues.names("b", "", 2) == (["b1", "b2"], "b3")
    assert queues.names("b", "b3", 2) == (["b3"], "")
    assert queues.names("", "", 1000)[0] == ["a1", "b1", "b2", "b3", "c1"]


def test_two_consumers_never_hold_the_same_message(queues: QueueStore) -> None:
    make(queues, VisibilityTimeout=60)
    total = 300
    for start in range(0, total, 16):
        queues.send("q", [Outgoing(f"m{i}") for i in range(start, min(start + 16, total))])
    held: list[list[str]] = [[], []]
    barrier = threading.Barrier(2)

    def consume(slot: int) -> None:
        barrier.wait()
        while True:
            taken = queues.receive("q", 3).messages
            if not taken:
                return
            held[slot] += [m.body for m in taken]

    threads = [threading.Thread(target=consume, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = Counter(held[0] + held[1])
    assert len(counts) == total and set(counts.values()) == {1}
    assert held[0] and held[1]  # both really consumed


# --- topics ---


@pytest.fixture()
def topics(client: redis.Redis, mkeys: MnsKeys, queues: QueueStore) -> TopicStore:
    return TopicStore(client, mkeys, queues)


def sub(name: str, queue: str, fmt: str = "JSON", tag: str = "") -> Subscription:
    return Subscription(
        name=name,
        endpoint=f"acs:mns:local:0:queues/{queue}",
        queue=queue,
        filter_tag=tag,
        content_format=fmt,
        create_ms=T0,
        modify_ms=T0,
    )


def test_publish_fans_out_in_each_format(
    topics: TopicStore, queues: QueueStore, client: redis.Redis, mkeys: MnsKeys
) -> None:
    for name in ("json", "simple", "xml", "tagged"):
        make(queues, name)
    assert topics.create("t", {"MaximumMessageSize": "65536"}, "1234", T0 // 1000)
    assert topics.subscribe("t", sub("s-json", "json", "JSON"))
    assert topics.subscribe("t", sub("s-simple", "simple", "SIMPLIFIED"))
    assert topics.subscribe("t", sub("s-xml", "xml", "XML"))
    assert topics.subscribe("t", sub("s-tagged", "tagged", "SIMPLIFIED", tag="imm"))
    assert topics.subscribe("t", sub("s-missing", "no-such-queue"))  # skipped at publish
    body = '{"events":[{"eventName":"FormatConvertJob:JobFinished"}]} 中文.docx'
    assert topic_exists(client, mkeys.prefix, "t")
    message_id = publish_to_topic(client, mkeys.prefix, "t", body)
    wrapped = json.loads(queues.receive("json", 1).messages[0].body)
    assert (wrapped["Message"], wrapped["MessageId"], wrapped["TopicOwner"]) == (
        body,
        message_id,
        "1234",
    )
    assert wrapped["SubscriptionName"] == "s-json"
    assert queues.receive("simple", 1).messages[0].body == body
    assert "<Notification" in queues.receive("xml", 1).messages[0].body
    assert queues.receive("tagged", 1).messages == []  # FilterTag imm, no tag
    publish_to_topic(client, mkeys.prefix, "t", "tagged!", tag="imm")
    assert queues.receive("tagged", 1).messages[0].body == "tagged!"


def test_publish_to_a_missing_topic(client: redis.Redis, mkeys: MnsKeys) -> None:
    assert not topic_exists(client, mkeys.prefix, "nope")
    with pytest.raises(TopicNotExist):
        publish_to_topic(client, mkeys.prefix, "nope", "x")


def test_subscription_conflicts_and_unsubscribe(topics: TopicStore) -> None:
    topics.create("t", {}, "0", T0 // 1000)
    assert topics.subscribe("t", sub("s", "q"))
    assert topics.subscribe("t", sub("s", "q")) is False
    with pytest.raises(MnsError) as caught:
        topics.subscribe("t", sub("s", "other"))
    assert (caught.value.code, caught.value.status) == ("SubscriptionAlreadyExist", 409)
    topics.unsubscribe("t", "s")
    with pytest.raises(MnsError) as gone:
        topics.subscription("t", "s")
    assert gone.value.code == "SubscriptionNotExist"
    with pytest.raises(TopicNotExist):
        topics.subscribe("nope", sub("s", "q"))


# --- hostile requests: an answer or an MNS error, never anything else ---

_FRAGMENTS = [
    "<Message>", "</Message>", "<Messages>", "</Messages>", "<MessageBody>", "</MessageBody>",
    "<DelaySeconds>", "</DelaySeconds>", "<Priority>", "</Priority>", "<ReceiptHandles>",
    "<ReceiptHandle>", "</ReceiptHandle>", "<Queue>", "</Queue>", "<VisibilityTimeout>",
    "</VisibilityTimeout>", "<Subscription>", "<Endpoint>", "</Endpoint>", "</Subscription>",
    "<UserProperties><PropertyValue><Name>n</Name></PropertyValue></UserProperties>",
    "acs:mns:r:1:queues/q", "-1", "0", "17", "99999999999999999999", "中文", "&amp;", "&#0;",
    "<!DOCTYPE x>", "]]>", "<![CDATA[", "\x00", "x",
]  # fmt: skip
bodies = st.lists(st.sampled_from(_FRAGMENTS), max_size=12).map(lambda p: "".join(p).encode())
queries = st.dictionaries(
    st.sampled_from(["numofmessages", "waitseconds", "peekonly", "receipthandle",
                     "visibilitytimeout", "metaoverride"]),
    st.sampled_from(["", "0", "1", "16", "17", "-1", "true", "x", "1e3",
                     "0000000000000001ABCDEF0123456789-0123456789abcdef"]),
)  # fmt: skip
calls = st.builds(
    lambda method, path, query, body: (method, path, query, body),
    st.sampled_from(["GET", "PUT", "POST", "DELETE"]),
    st.sampled_from([
        ("queues", ()), ("queues", ("q",)), ("queues", ("q", "messages")),
        ("queues", ("q", "other")), ("topics", ()), ("topics", ("t",)),
        ("topics", ("t", "messages")), ("topics", ("t", "subscriptions")),
        ("topics", ("t", "subscriptions", "s")), ("topics", ("t", "x", "s", "y")),
    ]),
    queries,
    bodies,
)  # fmt: skip


@settings(max_examples=150, suppress_health_check=list(HealthCheck))
@given(request=calls)
def test_hostile_requests_get_an_answer_or_an_mns_error(
    queues: QueueStore,
    topics: TopicStore,
    request: tuple[str, tuple[str, tuple[str, ...]], dict[str, str], bytes],
) -> None:
    method, (kind, parts), query, body = request
    ops = Operations(queues, topics, "0")
    call = Call(method, kind, parts, query, {}, body, "http://h")
    try:
        reply = ops.handle(call)
    except MnsError as err:
        assert 400 <= err.status < 500, err
    else:
        assert 200 <= reply.status < 600
