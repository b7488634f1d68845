"""The notification dispatcher against the real Redis and real HTTP receivers."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis

from imm_engine.notify.dispatcher import Dispatcher
from imm_engine.notify.routes import parse_routes
from imm_engine.state.keys import Keys
from tests.support.service import Receiver

pytestmark = pytest.mark.redis


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


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
    yield
    stop.set()
    thread.join(10)


def make(redis_url: str, keys: Keys, url: str, **route: object) -> tuple[redis.Redis, Dispatcher]:
    client = redis.Redis.from_url(redis_url)
    routes = parse_routes({"t": {"type": "webhook", "url": url, "allow_private": True, **route}})
    dispatcher = Dispatcher(
        client, keys, routes, max_attempts=3, max_backoff_s=0.2, log_ttl_s=600, threads=4
    )
    return client, dispatcher


def enqueue(client: redis.Redis, keys: Keys, task_id: str, destination: str = "t") -> None:
    body = json.dumps({"id": "E", "content": json.dumps({"TaskId": task_id})})
    client.xadd(
        keys.outbox,
        {
            "task_id": task_id,
            "event_id": "E",
            "destination": destination,
            "body": body,
            "attempt": "0",
        },
    )


def log(client: redis.Redis, keys: Keys, task_id: str) -> list[dict[str, object]]:
    return [json.loads(x) for x in client.lrange(keys.deliveries(task_id), 0, -1)]


def wait_until(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_delivers_once_and_acknowledges(redis_url: str, keys: Keys, receiver: Receiver) -> None:
    client, dispatcher = make(redis_url, keys, receiver.url)
    with running(dispatcher):
        enqueue(client, keys, "T1")
        receiver.wait_for("T1", timeout=10)
        wait_until(lambda: len(log(client, keys, "T1")) == 1)
    assert len(receiver.for_task("T1")) == 1
    assert client.xlen(keys.outbox) == 0
    assert log(client, keys, "T1")[0]["State"] == "Delivered"


def test_gives_up_after_max_attempts_and_keeps_the_event(
    redis_url: str, keys: Keys, receiver: Receiver
) -> None:
    receiver.failures[:] = [500] * 10
    client, dispatcher = make(redis_url, keys, receiver.url)
    with running(dispatcher):
        enqueue(client, keys, "T2")
        wait_until(lambda: client.llen(keys.outbox_dead) == 1)
    assert [e["State"] for e in log(client, keys, "T2")] == ["Failed", "Failed", "GaveUp"]
    assert len(receiver.for_task("T2")) == 3
    dead = json.loads(client.lindex(keys.outbox_dead, 0))  # type: ignore[arg-type]
    assert dead["task_id"] == "T2" and dead["error"] == "HTTP 500"


def test_slow_receiver_times_out_and_is_retried(redis_url: str, keys: Keys) -> None:
    hits: list[float] = []

    import http.server

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hits.append(time.time())
            if len(hits) == 1:
                time.sleep(1.5)
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    client, dispatcher = make(redis_url, keys, url, timeout=0.5)
    try:
        with running(dispatcher):
            enqueue(client, keys, "T3")
            wait_until(lambda: [e["State"] for e in log(client, keys, "T3")][-1:] == ["Delivered"])
    finally:
        server.shutdown()
    states = log(client, keys, "T3")
    assert states[0]["State"] == "Failed" and "Timeout" in str(states[0]["Error"])
    assert states[-1]["State"] == "Delivered"


def test_events_left_by_a_dead_dispatcher_are_claimed(
    redis_url: str, keys: Keys, receiver: Receiver
) -> None:
    client, dispatcher = make(redis_url, keys, receiver.url)
    dispatcher.ensure_group()
    enqueue(client, keys, "T4")
    # another dispatcher read the entry and died before acknowledging it
    client.xreadgroup(keys.outbox_group, "dead-consumer", {keys.outbox: ">"}, count=10)
    dispatcher.claim_idle_s = 0.2
    time.sleep(0.3)
    with running(dispatcher):
        receiver.wait_for("T4", timeout=20)
    assert len(receiver.for_task("T4")) == 1


def test_private_addresses_are_refused_unless_allowed(
    redis_url: str, keys: Keys, receiver: Receiver
) -> None:
    client, dispatcher = make(redis_url, keys, receiver.url, allow_private=False)
    with running(dispatcher):
        enqueue(client, keys, "T5")
        wait_until(lambda: len(log(client, keys, "T5")) == 1)
    [entry] = log(client, keys, "T5")
    assert entry["State"] == "GaveUp"
    assert "loopback" in str(entry["Error"])
    assert receiver.for_task("T5") == []


def test_an_event_is_held_until_the_replicas_confirm_it(
    redis_url: str, keys: Keys, receiver: Receiver
) -> None:
    """With durable_replicas, nothing is delivered until that many replicas hold it: the
    Redis here has no replica, so the event stays held (and is delivered once none is asked)."""
    client, held = make(redis_url, keys, receiver.url)
    held.durable_replicas, held.wait_timeout_ms = 1, 100
    enqueue(client, keys, "T-held")
    with running(held):
        time.sleep(2)
    assert receiver.for_task("T-held") == []
    _, plain = make(redis_url, keys, receiver.url)
    plain.claim_idle_s = 0.1  # takes over the entry the stopped dispatcher still holds
    with running(plain):
        receiver.wait_for("T-held", 15)
    assert len(receiver.for_task("T-held")) == 1
