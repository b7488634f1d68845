"""The built-in MNS through the real MNS SDK (`aliyun-mns-sdk`, `from mns.account import
Account`), against `imm-engine api` (MNS on the API port) and `imm-engine mns` (alone).

The legacy consumer pattern: a queue subscribed to a topic with NotifyContentFormat JSON,
`queue.set_encoding(False)`, `receive_message()` / `batch_receive_message()`, delete. Plus
what MNS guarantees: visibility expiry and redelivery, stale receipt handles refused, two
consumers never holding one message, long polling, signatures, hostile XML, huge bodies, and
nothing lost when the service or Redis restarts.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import hashlib
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mns.account import Account
from mns.mns_exception import MNSServerException
from mns.queue import Message, QueueMeta
from mns.subscription import SubscriptionMeta
from mns.topic import TopicMessage, TopicMeta

from imm_engine.mns.signature import authorization
from tests.support.api_server import REDIS_URL, ApiServer
from tests.support.cluster import PrivateRedis
from tests.support.needs import need, redis_available
from tests.support.service import ACCESS_KEY_ID, ACCESS_KEY_SECRET, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    need(redis_available(REDIS_URL), "Redis on 127.0.0.1:6379")
    api = ApiServer(tmp_path_factory.mktemp("mns-api")).start()
    yield api
    api.stop()


def account(port: int, secret: str = ACCESS_KEY_SECRET, key_id: str = ACCESS_KEY_ID) -> Any:
    return Account(f"http://127.0.0.1:{port}/", key_id, secret)


def unique(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:10]}"


def new_queue(acc: Any, visibility: int = 30, **extra: int) -> Any:
    queue = acc.get_queue(unique("q"))
    meta = QueueMeta()
    meta.set_visibilitytimeout(visibility)
    for name, value in extra.items():
        getattr(meta, f"set_{name}")(value)
    queue.create(meta)
    return queue


def server_error(call: Any) -> MNSServerException:
    with pytest.raises(MNSServerException) as caught:
        call()
    return caught.value


def test_the_legacy_consumer_pattern(server: ApiServer) -> None:
    """Create queue and topic, subscribe (JSON), publish an IMM 2017 event, receive it as the
    blog's consumer does, batch-receive, delete."""
    acc = account(server.port)
    queue = new_queue(acc)
    topic = acc.get_topic(unique("t"))
    url = topic.create(TopicMeta())
    assert url == f"http://127.0.0.1:{server.port}/topics/{topic.topic_name}"
    endpoint = f"acs:mns:cn-beijing:1234567890123456:queues/{queue.queue_name}"
    topic.get_subscription("imm-sub").subscribe(
        SubscriptionMeta(endpoint, notify_content_format="JSON")
    )
    event = {
        "events": [
            {
                "eventName": "FormatConvertJob:JobFinished",
                "eventSource": "acs:imm",
                "imm": {"code": "NoError", "pageCount": "5", "percent": "100", "taskId": "t-1"},
                "source": "5页Word.docx",
            }
        ]
    }
    published = topic.publish_message(TopicMessage(json.dumps(event, ensure_ascii=False)))
    queue.set_encoding(False)
    received = queue.receive_message(3)
    wrapper = json.loads(received.message_body)
    assert wrapper["TopicName"] == topic.topic_name
    assert wrapper["SubscriptionName"] == "imm-sub"
    assert wrapper["MessageId"] == published.message_id
    assert json.loads(wrapper["Message"]) == event
    assert isinstance(wrapper["PublishTime"], str) and wrapper["PublishTime"].isdigit()
    assert wrapper["MessageMD5"] == hashlib.md5(wrapper["Message"].encode()).hexdigest().upper()
    assert received.dequeue_count == 1 and received.priority == 8
    queue.delete_message(received.receipt_handle)

    for i in range(3):
        topic.publish_message(TopicMessage(json.dumps({"n": i})))
    batch = queue.batch_receive_message(16, 3)
    assert sorted(json.loads(json.loads(m.message_body)["Message"])["n"] for m in batch) == [
        0,
        1,
        2,
    ]
    queue.batch_delete_message([m.receipt_handle for m in batch])
    assert server_error(lambda: queue.receive_message(0)).type == "MessageNotExist"


def test_send_receive_with_the_sdk_default_base64(server: ApiServer) -> None:
    acc = account(server.port)
    queue = new_queue(acc)
    body = '中文 日本語 한국어 <xml> & "quotes"'
    sent = queue.send_message(Message(body))
    assert (
        sent.message_body_md5
        == hashlib.md5(base64.b64encode(body.encode()).decode().encode()).hexdigest().upper()
    )  # the server stores what the SDK sent: the base64 text
    received = queue.receive_message(1)
    assert received.message_body.decode() == body
    peeked = server_error(lambda: queue.peek_message())  # invisible while held
    assert peeked.type == "MessageNotExist"
    queue.delete_message(received.receipt_handle)


def test_queue_attributes_list_and_delete(server: ApiServer) -> None:
    acc = account(server.port)
    queue = new_queue(acc, visibility=7, delay_seconds=0, polling_wait_seconds=1)
    again = QueueMeta()
    again.set_visibilitytimeout(7)
    again.set_polling_wait_seconds(1)
    queue.create(again)  # same attributes: accepted
    other = QueueMeta()
    other.set_visibilitytimeout(8)
    assert server_error(lambda: queue.create(other)).type == "QueueAlreadyExist"
    attrs = queue.get_attributes()
    assert (attrs.visibility_timeout, attrs.polling_wait_seconds) == (7, 1)
    change = QueueMeta()
    change.set_maximum_message_size(2048)
    queue.set_attributes(change)
    assert queue.get_attributes().maximum_message_size == 2048
    err = server_error(lambda: queue.send_message(Message("x" * 3000)))
    assert err.type == "InvalidArgument"
    urls, _ = acc.list_queue(prefix=queue.queue_name)
    assert urls == [f"http://127.0.0.1:{server.port}/queues/{queue.queue_name}"]
    queue.delete()
    assert server_error(queue.get_attributes).type == "QueueNotExist"
    assert server_error(lambda: queue.send_message(Message("x"))).type == "QueueNotExist"


def test_visibility_expiry_redelivery_and_stale_handles(server: ApiServer) -> None:
    acc = account(server.port)
    queue = new_queue(acc, visibility=1)
    queue.send_message(Message("once"))
    first = queue.receive_message(0)
    assert server_error(lambda: queue.receive_message(0)).type == "MessageNotExist"
    while time.time() * 1000 < first.next_visible_time + 50:
        time.sleep(0.05)
    again = queue.receive_message(1)
    assert (again.message_id, again.dequeue_count) == (first.message_id, 2)
    assert again.first_dequeue_time == first.first_dequeue_time
    assert again.receipt_handle != first.receipt_handle
    stale = server_error(lambda: queue.delete_message(first.receipt_handle))
    assert stale.type == "MessageNotExist"
    malformed = server_error(lambda: queue.delete_message("not-a-handle"))
    assert malformed.type == "ReceiptHandleError"
    changed = queue.change_message_visibility(again.receipt_handle, 30)
    assert (
        server_error(lambda: queue.delete_message(again.receipt_handle)).type == "MessageNotExist"
    )
    queue.delete_message(changed.receipt_handle)


def test_delay_seconds(server: ApiServer) -> None:
    acc = account(server.port)
    queue = new_queue(acc)
    message = Message("later")
    message.set_delayseconds(1)
    queue.send_message(message)
    assert queue.get_attributes().delay_messages == 1
    assert server_error(lambda: queue.receive_message(0)).type == "MessageNotExist"
    received = queue.receive_message(5)  # the long poll wakes when it becomes due
    assert received.message_body == b"later"


def test_long_poll_wakes_up_when_a_message_arrives(server: ApiServer) -> None:
    consumer = new_queue(account(server.port))
    producer = account(server.port).get_queue(consumer.queue_name)
    got: list[Any] = []
    thread = threading.Thread(target=lambda: got.append(consumer.receive_message(20)))
    thread.start()
    time.sleep(0.5)
    producer.send_message(Message("wake up"))
    thread.join(30)
    assert got and got[0].message_body == b"wake up"


def test_a_long_poll_whose_client_left_takes_nothing(server: ApiServer) -> None:
    queue = new_queue(account(server.port))
    path = f"/queues/{queue.queue_name}/messages?waitseconds=20"
    headers = {"date": email.utils.formatdate(usegmt=True), "x-mns-version": "2015-06-06"}
    headers["authorization"] = authorization(ACCESS_KEY_ID, ACCESS_KEY_SECRET, "GET", headers, path)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("GET", path, headers=headers)
    time.sleep(0.5)  # the server is in the long poll
    conn.close()  # the client goes away without its answer
    time.sleep(0.5)
    queue.send_message(Message("for someone who is still there"))
    received = queue.receive_message(5)
    assert received.message_body == b"for someone who is still there"
    assert received.dequeue_count == 1  # the abandoned poll did not take it first


def test_long_poll_ends_with_message_not_exist(server: ApiServer) -> None:
    queue = new_queue(account(server.port))
    assert server_error(lambda: queue.batch_receive_message(4, 1)).type == "MessageNotExist"


def test_two_sdk_consumers_never_hold_the_same_message(server: ApiServer) -> None:
    producer = new_queue(account(server.port), visibility=60)
    total = 64
    for start in range(0, total, 16):
        producer.batch_send_message([Message(f"m{i}") for i in range(start, start + 16)])
    held: list[list[bytes]] = [[], []]

    def consume(slot: int) -> None:
        queue = account(server.port).get_queue(producer.queue_name)
        while True:
            try:
                held[slot] += [m.message_body for m in queue.batch_receive_message(3, 1)]
            except MNSServerException as exc:
                assert exc.type == "MessageNotExist"
                return

    threads = [threading.Thread(target=consume, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    counts = Counter(held[0] + held[1])
    assert len(counts) == total and set(counts.values()) == {1}


def test_wrong_credentials_are_refused(server: ApiServer) -> None:
    name = new_queue(account(server.port)).queue_name
    wrong = account(server.port, secret="not-the-secret").get_queue(name)
    assert server_error(wrong.get_attributes).type == "SignatureDoesNotMatch"
    unknown = account(server.port, key_id="nobody").get_queue(name)
    assert server_error(unknown.get_attributes).type == "InvalidAccessKeyId"
    plain = httpx.get(f"http://127.0.0.1:{server.port}/queues/{name}", timeout=10)
    assert plain.status_code == 403 and b"<Code>AccessDenied</Code>" in plain.content


def signed(port: int, method: str, path: str, body: bytes = b"") -> httpx.Response:
    """A request signed as the SDK signs it (content-md5: base64 of the hex digest)."""
    headers = {"date": email.utils.formatdate(usegmt=True), "x-mns-version": "2015-06-06"}
    if body:
        headers["content-md5"] = base64.b64encode(hashlib.md5(body).hexdigest().encode()).decode()
        headers["content-type"] = "text/xml;charset=UTF-8"
    headers["authorization"] = authorization(
        ACCESS_KEY_ID, ACCESS_KEY_SECRET, method, headers, path
    )
    url = f"http://127.0.0.1:{port}{path}"
    return httpx.request(method, url, content=body, headers=headers, timeout=30)


def signed_post(port: int, path: str, body: bytes) -> httpx.Response:
    return signed(port, "POST", path, body)


def test_names_that_cannot_be_queues_are_refused(server: ApiServer) -> None:
    for path, code in [
        ("/queues/a:visible", b"InvalidQueueName"),
        ("/queues/%E9%98%9F%E5%88%97/messages", b"InvalidQueueName"),
        ("/topics/t-1/subscriptions/bad.name", b"InvalidSubscriptionName"),
        ("/topics/t_1", b"InvalidTopicName"),
        ("/queues/q-1/nothing", b"ResourceNotExist"),
    ]:
        reply = signed(server.port, "GET", path)
        assert reply.status_code in (400, 404) and code in reply.content, (path, reply.content)


def test_hostile_xml_and_huge_bodies_are_refused(server: ApiServer) -> None:
    queue = new_queue(account(server.port))
    path = f"/queues/{queue.queue_name}/messages"
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz ['
        + "".join(entities).encode()
        + b']><Message xmlns="http://mns.aliyuncs.com/doc/v1/"><MessageBody>&lol9;</MessageBody></Message>'
    )
    refused = signed_post(server.port, path, laughs)
    assert refused.status_code == 400 and b"<Code>MalformedXML</Code>" in refused.content
    external = (
        b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<Message><MessageBody>&x;</MessageBody></Message>"
    )
    assert signed_post(server.port, path, external).status_code == 400
    huge = b"<Message><MessageBody>" + b"x" * (3 * 1024 * 1024) + b"</MessageBody></Message>"
    too_large = signed_post(server.port, path, huge)
    assert too_large.status_code == 413 and b"<Code>" in too_large.content
    over = "x" * (65536 + 1)
    assert server_error(lambda: queue.send_message(Message(over))).type == "InvalidArgument"
    assert queue.get_attributes().active_messages == 0


def test_imm_api_answers_on_the_same_port(server: ApiServer) -> None:
    reply = httpx.post(f"http://127.0.0.1:{server.port}/", timeout=10)
    assert reply.headers["content-type"].startswith("application/json")  # IMM, not MNS
    queue = new_queue(account(server.port))
    queue.send_message(Message("counted"))
    metrics = httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=10).text
    assert 'imm_api_requests_total{action="MNS.SendMessage",code="201"}' in metrics
    assert 'action="MNS.CreateQueue",code="201"' in metrics


def test_nothing_lost_when_the_service_and_redis_restart(tmp_path: Path) -> None:
    need(redis_available(REDIS_URL), "Redis on 127.0.0.1:6379")
    store = PrivateRedis(tmp_path / "redis").start()
    env = {"IMM_REDIS_URL": store.url}
    (tmp_path / "api").mkdir()
    api = ApiServer(tmp_path / "api", env).start()
    try:
        queue = new_queue(account(api.port), visibility=60)
        queue.batch_send_message([Message(f"m{i}") for i in range(5)])
        held = queue.receive_message(0)
        api.proc.terminate()  # type: ignore[union-attr]
        api.proc.wait(30)  # type: ignore[union-attr]
        store.kill()  # SIGKILL; the AOF (fsync always) has every acknowledged write
        store.start()
        api = ApiServer(tmp_path / "api", env, prefix=api.prefix).start()
        queue = account(api.port).get_queue(queue.queue_name)
        attrs = queue.get_attributes()
        assert (attrs.active_messages, attrs.inactive_messages) == (4, 1)
        queue.delete_message(held.receipt_handle)  # the handle survived too
        bodies = sorted(m.message_body for m in queue.batch_receive_message(16, 1))
        assert bodies == [b"m1", b"m2", b"m3", b"m4"]
    finally:
        api.stop()
        store.stop()


def test_a_redis_outage_is_503_and_the_service_recovers(tmp_path: Path) -> None:
    store = PrivateRedis(tmp_path / "redis").start()
    (tmp_path / "api").mkdir()
    api = ApiServer(tmp_path / "api", {"IMM_REDIS_URL": store.url}).start()
    try:
        queue = new_queue(account(api.port))
        queue.send_message(Message("kept"))
        waiting: list[Any] = []

        def long_poll() -> None:
            other = account(api.port).get_queue(queue.queue_name)
            other.receive_message(1)  # takes "kept"
            try:
                other.receive_message(20)
            except MNSServerException as exc:
                waiting.append(exc.type)

        poller = threading.Thread(target=long_poll)
        poller.start()
        time.sleep(1.0)  # the second receive is in its long poll
        store.kill()
        poller.join(40)
        assert waiting == ["ServiceUnavailable"]  # answered, not hanging
        assert server_error(queue.get_attributes).type == "ServiceUnavailable"
        store.start()
        attrs = queue.get_attributes()  # the same API process, reconnected
        assert attrs.active_messages + attrs.inactive_messages == 1
    finally:
        api.stop()
        store.stop()


def test_stopping_the_service_ends_waiting_long_polls(tmp_path: Path) -> None:
    """A stop signal does not wait for the long polls (up to 30 s each): they answer
    MessageNotExist, as an empty queue would, and the process exits."""
    need(redis_available(REDIS_URL), "Redis on 127.0.0.1:6379")
    api = ApiServer(tmp_path).start()
    try:
        queue = new_queue(account(api.port))
        answers: list[str] = []

        def long_poll() -> None:
            try:
                queue.receive_message(30)
            except MNSServerException as exc:
                answers.append(exc.type)

        poller = threading.Thread(target=long_poll)
        poller.start()
        time.sleep(1.0)
        assert api.proc is not None
        api.proc.terminate()
        api.proc.wait(20)  # well before the poll's own 30 s
        poller.join(20)
        assert answers == ["MessageNotExist"]
    finally:
        api.stop()


def test_imm_engine_mns_runs_alone(tmp_path: Path) -> None:
    need(redis_available(REDIS_URL), "Redis on 127.0.0.1:6379")
    port, prefix = free_port(), f"immtest{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMM_")}
    env.update(
        {
            "IMM_REDIS_URL": REDIS_URL,
            "IMM_KEY_PREFIX": prefix,
            "IMM_MNS_PORT": str(port),
            "IMM_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "IMM_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
        }
    )
    exe = Path(sys.executable).parent / "imm-engine"
    log = tmp_path / "mns.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(exe), "mns"], env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        queue = new_queue(account(port))
        queue.send_message(Message("alone"))
        assert queue.receive_message(1).message_body == b"alone"
        other = httpx.post(f"http://127.0.0.1:{port}/", timeout=10)
        assert other.status_code == 404 and b"<Error" in other.content
    finally:
        proc.terminate()
        proc.wait(30)


OLD_SDK_PATTERN = """
import sys
from mns.account import Account
from mns.queue import QueueMeta, Message
from mns.topic import TopicMeta, TopicMessage
from mns.subscription import SubscriptionMeta
import mns
assert mns.__file__.startswith(sys.argv[3]), mns.__file__
acc = Account("http://127.0.0.1:%s/" % sys.argv[1], "test-ak", "test-secret")
q = acc.get_queue(sys.argv[2])
print(q.create(QueueMeta()))
t = acc.get_topic(sys.argv[2])
print(t.create(TopicMeta()))
endpoint = "acs:mns:cn-beijing:1:queues/" + sys.argv[2]
print(t.get_subscription("s").subscribe(SubscriptionMeta(endpoint, notify_content_format="JSON")))
t.publish_message(TopicMessage('{"events":["5页Word.docx"]}'))
q.set_encoding(False)
m = q.receive_message(5)
print(m.message_body)
q.delete_message(m.receipt_handle)
q.set_encoding(True)
q.batch_send_message([Message("a"), Message("b")])
print(sorted(x.message_body.decode() for x in q.batch_receive_message(16, 1)))
"""


def test_the_old_aliyun_mns_1_1_5_runs_the_pattern(
    server: ApiServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`pip install aliyun-mns` (1.1.5, what the blog installs; its `mns` module clashes with
    aliyun-mns-sdk's, so it runs in a child process): it reads `location` case-sensitively."""
    target = tmp_path_factory.mktemp("aliyun-mns-1.1.5")
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
         "aliyun-mns==1.1.5"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    need(pip.returncode == 0, f"pip install aliyun-mns==1.1.5: {pip.stderr[-500:]}")
    name = unique("old")
    env = {**os.environ, "PYTHONPATH": str(target)}
    run = subprocess.run(
        [sys.executable, "-c", OLD_SDK_PATTERN, str(server.port), name, str(target)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    lines = [line for line in run.stdout.splitlines() if not line.startswith("DEBUG")]
    base = f"http://127.0.0.1:{server.port}"
    assert f"{base}/queues/{name}" in lines and f"{base}/topics/{name}" in lines
    assert f"{base}/topics/{name}/subscriptions/s" in lines
    wrapper = json.loads(next(line for line in lines if line.startswith("{")))
    assert json.loads(wrapper["Message"]) == {"events": ["5页Word.docx"]}
    assert lines[-1] == "['a', 'b']"
