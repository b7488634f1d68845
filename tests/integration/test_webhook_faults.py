"""Webhook receivers that are really down, slow or failing, against the real dispatcher and
the real Redis: each event still arrives, every attempt is in the task's delivery log, the
backoff grows and is bounded, a hanging receiver does not hold up other destinations, and
given-up events can be replayed (also in bulk, through the CLI)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis

from imm_engine.notify.dispatcher import Dispatcher
from imm_engine.notify.replay import replay_dead, replay_task
from imm_engine.notify.routes import parse_routes
from imm_engine.state.keys import Keys
from tests.support.hanging_receiver import Hanging
from tests.support.service import Receiver, free_port

pytestmark = pytest.mark.redis


@pytest.fixture()
def keys(redis_url: str) -> Iterator[Keys]:
    k = Keys(f"immtest{uuid.uuid4().hex[:8]}")
    yield k
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{k.prefix}*"):
        client.delete(key)


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


def dispatcher(
    redis_url: str, keys: Keys, routes: dict[str, Any], **options: Any
) -> tuple[redis.Redis, Dispatcher]:
    client = redis.Redis.from_url(redis_url)
    settings = {"max_attempts": 12, "max_backoff_s": 2.0, "log_ttl_s": 600, "threads": 4}
    settings.update(options)
    return client, Dispatcher(client, keys, parse_routes(routes), **settings)


def hook(url: str, **extra: Any) -> dict[str, Any]:
    return {"type": "webhook", "url": url, "allow_private": True, **extra}


def enqueue(client: redis.Redis, keys: Keys, task_id: str, destination: str) -> str:
    body = json.dumps({"id": f"E-{task_id}", "content": json.dumps({"TaskId": task_id})})
    client.xadd(
        keys.outbox,
        {
            "task_id": task_id,
            "event_id": f"E-{task_id}",
            "destination": destination,
            "body": body,
            "attempt": "0",
        },
    )
    return body


def log(client: redis.Redis, keys: Keys, task_id: str) -> list[dict[str, Any]]:
    return [json.loads(x) for x in client.lrange(keys.deliveries(task_id), 0, -1)]


def wait_until(predicate: Any, timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.02)


def seconds(entry: dict[str, Any]) -> float:
    when = datetime.strptime(entry["Time"], "%Y-%m-%dT%H:%M:%S.%fZ")
    return when.timestamp()


def test_receiver_down_then_up_backoff_grows_and_is_bounded(redis_url: str, keys: Keys) -> None:
    port = free_port()  # nothing listens there: connection refused
    client, disp = dispatcher(
        redis_url, keys, {"t": hook(f"http://127.0.0.1:{port}/hook")}, max_backoff_s=2.0
    )
    receiver = Receiver(port=port)
    try:
        with running(disp):
            enqueue(client, keys, "D1", "t")
            wait_until(lambda: len(log(client, keys, "D1")) >= 5, what="5 failed attempts")
            time.sleep(1.0)  # the receiver comes up in the middle of a wait
            receiver.start()  # the receiver comes up
            delivery = receiver.wait_for("D1", timeout=10)
            wait_until(lambda: log(client, keys, "D1")[-1]["State"] == "Delivered")
    finally:
        if hasattr(receiver, "server"):
            receiver.stop()
    entries = log(client, keys, "D1")
    failed, last = entries[:-1], entries[-1]
    assert all(e["State"] == "Failed" for e in failed)
    assert all(e["HTTPStatus"] is None and "ConnectError" in e["Error"] for e in failed)
    assert [e["Attempt"] for e in entries] == list(range(1, len(entries) + 1))
    assert {e["EventId"] for e in entries} == {"E-D1"}
    assert (last["HTTPStatus"], last["Error"]) == (200, "")
    assert delivery.headers["x-imm-delivery-attempt"] == str(last["Attempt"])
    assert len(receiver.for_task("D1")) == 1
    gaps = [seconds(b) - seconds(a) for a, b in itertools.pairwise(entries)]
    # waits of 1 s, then 2, 4, 8 s capped at IMM_NOTIFY_MAX_BACKOFF (2 s); +-20% jitter and
    # up to ~0.8 s of polling and load. Uncapped, the third and fourth would be >= 3.2 s.
    assert len(gaps) >= 5, gaps
    assert 0.8 <= gaps[0] <= 2.0, gaps
    assert all(1.6 <= g <= 3.0 for g in gaps[1:5]), gaps
    assert sum(gaps[1:5]) / 4 > gaps[0], gaps
    assert client.zcard(keys.outbox_retry) == 0 and client.llen(keys.outbox_dead) == 0


def test_500_then_200_is_retried_and_every_attempt_logged(redis_url: str, keys: Keys) -> None:
    receiver = Receiver().start()
    receiver.failures[:] = [500, 500, 503]
    client, disp = dispatcher(redis_url, keys, {"t": hook(receiver.url)}, max_backoff_s=0.3)
    try:
        with running(disp):
            body = enqueue(client, keys, "F1", "t")
            wait_until(lambda: len(receiver.for_task("F1")) == 4, what="4 attempts")
            wait_until(lambda: len(log(client, keys, "F1")) == 4)
    finally:
        receiver.stop()
    entries = log(client, keys, "F1")
    assert [(e["State"], e["HTTPStatus"], e["Error"]) for e in entries] == [
        ("Failed", 500, "HTTP 500"),
        ("Failed", 500, "HTTP 500"),
        ("Failed", 503, "HTTP 503"),
        ("Delivered", 200, ""),
    ]
    assert all(isinstance(e["LatencyMs"], float) and e["LatencyMs"] >= 0 for e in entries)
    arrivals = receiver.for_task("F1")
    assert [d.headers["x-imm-delivery-attempt"] for d in arrivals] == ["1", "2", "3", "4"]
    assert {d.body for d in arrivals} == {body.encode()}
    assert client.get(keys.task_event("F1")) == body.encode()  # kept for replays


def test_hanging_receiver_does_not_hold_up_other_destinations(redis_url: str, keys: Keys) -> None:
    slow = Hanging(hold_s=30)
    fast = Receiver().start()
    client, disp = dispatcher(
        redis_url,
        keys,
        {"slow": hook(slow.url, timeout=3), "fast": hook(fast.url)},
        threads=4,
        max_attempts=2,
        max_backoff_s=0.5,
    )
    try:
        with running(disp):
            for i in range(8):  # more hanging deliveries than the dispatcher has threads
                enqueue(client, keys, f"S{i}", "slow")
            wait_until(lambda: len(slow.hits) >= 2, what="the slow receiver is hit")
            sent = time.time()
            for i in range(10):
                enqueue(client, keys, f"Q{i}", "fast")
            for i in range(10):
                fast.wait_for(f"Q{i}", timeout=10)
            took = max(d.received_at for d in fast.deliveries) - sent
            busy = len(slow.hits)
            # every slow event is tried twice (3 s timeout each), then given up and kept
            wait_until(lambda: client.llen(keys.outbox_dead) == 8, timeout=120, what="dead")
    finally:
        slow.stop()
        fast.stop()
    assert took < 2.0, f"fast deliveries waited {took:.1f} s behind the hanging receiver"
    assert busy == 2, "the hanging receiver must hold at most half the threads"
    for i in range(8):
        entries = log(client, keys, f"S{i}")
        assert [e["State"] for e in entries] == ["Failed", "GaveUp"]
        assert all("Timeout" in e["Error"] and e["LatencyMs"] >= 2900 for e in entries)
    assert all(len(fast.for_task(f"Q{i}")) == 1 for i in range(10))


def test_given_up_events_are_replayed_one_task_or_all(
    redis_url: str, keys: Keys, tmp_path: Path
) -> None:
    port = free_port()
    client, disp = dispatcher(
        redis_url, keys, {"t": hook(f"http://127.0.0.1:{port}/")}, max_attempts=2,
        max_backoff_s=0.2,
    )  # fmt: skip
    with running(disp):
        bodies = {t: enqueue(client, keys, t, "t") for t in ("G1", "G2", "G3")}
        wait_until(lambda: client.llen(keys.outbox_dead) == 3, what="given up")
    receiver = Receiver(port=port).start()
    try:
        # one task, through the same function as ReplayTaskNotification
        replay_task(
            client, keys, task_id="G1", event_id="E-G1", body=bodies["G1"],
            destinations=["t"], log_ttl_s=600,
        )  # fmt: skip
        assert client.llen(keys.outbox_dead) == 2  # its dead copy is gone
        with running(disp):
            receiver.wait_for("G1", timeout=10)
            # every other given-up event, through the CLI
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("IMM_")},
                "IMM_REDIS_URL": redis_url,
                "IMM_KEY_PREFIX": keys.prefix,
            }
            out = subprocess.run(
                [sys.executable, "-m", "imm_engine.service.cli", "notifier", "--replay-dead"],
                env=env, capture_output=True, text=True, timeout=60, check=True,
            )  # fmt: skip
            assert "2 given-up deliveries queued again" in out.stdout
            receiver.wait_for("G2", timeout=10)
            receiver.wait_for("G3", timeout=10)
            wait_until(
                lambda: all(log(client, keys, t)[-1]["State"] == "Delivered" for t in bodies)
            )
    finally:
        receiver.stop()
    for task_id, body in bodies.items():
        [delivery] = receiver.for_task(task_id)
        assert (
            delivery.body == body.encode() and delivery.headers["x-imm-event-id"] == f"E-{task_id}"
        )
        assert delivery.headers["x-imm-delivery-attempt"] == "1"  # a fresh schedule
        states = [e["State"] for e in log(client, keys, task_id)]
        assert states == ["Failed", "GaveUp", "Replayed", "Delivered"]
    assert client.llen(keys.outbox_dead) == 0
    assert replay_dead(client, keys, log_ttl_s=600) == 0
