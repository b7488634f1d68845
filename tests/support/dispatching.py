"""Driving the real notification dispatcher in tests: queue a real completion message as the
task store does, run a Dispatcher on a thread, and read the per-task delivery log."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis

from imm_engine.models import TaskRecord
from imm_engine.notify import events
from imm_engine.notify.dispatcher import Dispatcher
from imm_engine.notify.routes import parse_routes
from imm_engine.state.keys import Keys


@contextmanager
def dispatching(
    redis_url: str, keys: Keys, destination: dict[str, Any], route: str = "mns:imm-topic"
) -> Iterator[Dispatcher]:
    routes = parse_routes({route: {**destination, "timeout": 2}})
    dispatcher = Dispatcher(
        redis.Redis.from_url(redis_url),
        keys,
        routes,
        max_attempts=12,
        max_backoff_s=0.5,
        log_ttl_s=600,
        threads=4,
    )
    stop = threading.Event()
    thread = threading.Thread(target=dispatcher.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield dispatcher
    finally:
        stop.set()
        thread.join(10)


def enqueue(redis_url: str, keys: Keys, route: str = "mns:imm-topic") -> tuple[str, str, bytes]:
    """Queue a real completion message as the task store does; (task id, event id, body)."""
    task_id = f"OfficeConversion-{uuid.uuid4()}"
    event_id = f"EV-{uuid.uuid4().hex}"
    rec = TaskRecord(
        project="test-project",
        task_type="OfficeConversion",
        task_id=task_id,
        request_id="R-1",
        event_id=event_id,
        start_ts=time.time() - 1,
        tags={"team": "docs"},
        user_data="ud-42",
    )
    content = events.content(rec, "Succeeded", "", "", time.time(), {"PageCount": 3})
    body = events.encode(
        events.envelope(
            rec, content, region="cn-test", account_id="1234", now_ms=int(time.time() * 1000)
        )
    )
    redis.Redis.from_url(redis_url).xadd(
        keys.outbox,
        {
            "task_id": task_id,
            "event_id": event_id,
            "destination": route,
            "body": body,
            "attempt": "0",
        },
    )
    return task_id, event_id, body.encode()


def delivery_log(redis_url: str, keys: Keys, task_id: str) -> list[dict[str, Any]]:
    client = redis.Redis.from_url(redis_url)
    return [json.loads(x) for x in client.lrange(keys.deliveries(task_id), 0, -1)]


def wait_states(
    redis_url: str, keys: Keys, task_id: str, last: str, timeout: float = 30.0
) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        states = [e["State"] for e in delivery_log(redis_url, keys, task_id)]
        if states[-1:] == [last] or time.monotonic() > deadline:
            return states
        time.sleep(0.05)
