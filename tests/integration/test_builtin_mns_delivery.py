"""Notifications into the built-in MNS (destination `builtin-mns:<topic>`): the dispatcher's
guarantees on real Redis — a topic that is missing at delivery is retried with backoff, not
dropped, and delivered once it exists; the subscriber queue gets the body as published."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis

from imm_engine.mns.attributes import QUEUE_RANGES, TOPIC_RANGES, Subscription, with_defaults
from imm_engine.mns.keys import MnsKeys
from imm_engine.mns.queues import QueueStore
from imm_engine.mns.topics import TopicStore
from imm_engine.notify.dispatcher import Dispatcher
from imm_engine.notify.routes import parse_routes
from imm_engine.state.keys import Keys

pytestmark = pytest.mark.redis

BODY = json.dumps(
    {"events": [{"eventName": "FormatConvertJob:JobFinished", "imm": {"taskId": "T1",
                 "message": "oss://b/5页Word.docx"}}]},
    ensure_ascii=False,
)  # fmt: skip


@contextmanager
def running(dispatcher: Dispatcher) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=dispatcher.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


def log(client: redis.Redis, keys: Keys, task_id: str) -> list[dict[str, Any]]:
    return [json.loads(x) for x in client.lrange(keys.deliveries(task_id), 0, -1)]


def wait_until(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def enqueue(client: redis.Redis, keys: Keys, task_id: str, destination: str) -> None:
    client.xadd(
        keys.outbox,
        {"task_id": task_id, "event_id": f"E-{task_id}", "destination": destination,
         "body": BODY, "attempt": "0"},
    )  # fmt: skip


def test_missing_topic_is_retried_then_delivered(redis_url: str, keys: Keys) -> None:
    client = redis.Redis.from_url(redis_url)
    dispatcher = Dispatcher(
        client, keys, parse_routes({}), max_attempts=50, max_backoff_s=0.2, log_ttl_s=600
    )
    topic, queue = f"t-{uuid.uuid4().hex[:8]}", f"q-{uuid.uuid4().hex[:8]}"
    enqueue(client, keys, "T1", f"builtin-mns:{topic}")
    with running(dispatcher):
        wait_until(lambda: len(log(client, keys, "T1")) >= 2)
        failed = log(client, keys, "T1")
        assert {e["State"] for e in failed} == {"Failed"}
        assert "TopicNotExist" in failed[0]["Error"]
        mns_keys = MnsKeys(keys.prefix)
        queues = QueueStore(client, mns_keys)
        queues.create(queue, with_defaults({}, QUEUE_RANGES), int(time.time()))
        topics = TopicStore(client, mns_keys, queues)
        topics.create(topic, with_defaults({}, TOPIC_RANGES), "0", int(time.time()))
        topics.subscribe(
            topic,
            Subscription(
                name="s", endpoint=f"acs:mns:local:0:queues/{queue}", queue=queue,
                content_format="SIMPLIFIED",
            ),
        )  # fmt: skip
        wait_until(lambda: log(client, keys, "T1")[-1]["State"] == "Delivered")
    [message] = queues.receive(queue, 16).messages
    assert message.body == BODY  # as published: not wrapped, not escaped
    properties = {p["Name"]: p["Value"] for p in json.loads(message.properties)}
    assert properties["EventId"] == "E-T1" and properties["TaskId"] == "T1"


def test_a_nameless_builtin_destination_gives_up_at_once(redis_url: str, keys: Keys) -> None:
    client = redis.Redis.from_url(redis_url)
    dispatcher = Dispatcher(
        client, keys, parse_routes({}), max_attempts=5, max_backoff_s=0.2, log_ttl_s=600
    )
    enqueue(client, keys, "T2", "builtin-mns:")
    with running(dispatcher):
        wait_until(lambda: bool(log(client, keys, "T2")))
    [entry] = log(client, keys, "T2")
    assert entry["State"] == "GaveUp" and "no longer configured" in entry["Error"]
