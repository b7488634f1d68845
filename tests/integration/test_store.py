"""TaskStore against the real Redis: records, the 7-day expiry, finish-once with its events."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from imm_engine.models import TaskRecord, TaskStatus
from imm_engine.state.keys import Keys
from imm_engine.state.store import OutboxEvent, TaskStore

pytestmark = pytest.mark.redis


@pytest.fixture()
def store(redis_url: str) -> Iterator[TaskStore]:
    client = redis.Redis.from_url(redis_url)
    keys = Keys(f"immtest{uuid.uuid4().hex[:8]}")
    yield TaskStore(client, keys, ttl_s=7 * 86400)
    for key in client.scan_iter(f"{keys.prefix}*"):
        client.delete(key)


def record(**kwargs: object) -> TaskRecord:
    base: dict[str, object] = {
        "project": "p",
        "task_type": "OfficeConversion",
        "task_id": f"OfficeConversion-{uuid.uuid4()}",
        "request_id": "R",
        "event_id": "E-1",
        "start_ts": time.time(),
        "tags": {"a": 1, "中": "文"},
        "user_data": "u",
        "job": {"source": "oss://bkt/a.docx"},
    }
    base.update(kwargs)
    return TaskRecord(**base)  # type: ignore[arg-type]


def test_record_round_trips(store: TaskStore) -> None:
    rec = record()
    store.create(rec)
    got = store.get(rec.task_id)
    assert got is not None
    assert got.tags == {"a": 1, "中": "文"}
    assert got.job == rec.job
    assert got.status == TaskStatus.RUNNING
    assert got.start_ts == pytest.approx(rec.start_ts)


def test_record_expires_ttl_after_start(store: TaskStore) -> None:
    rec = record(start_ts=time.time() - 86400)  # started a day ago
    store.create(rec)
    ttl = store.r.ttl(store.keys.task(rec.task_id))
    assert 6 * 86400 - 60 < ttl <= 6 * 86400


def test_finish_happens_once_and_queues_events_with_it(store: TaskStore) -> None:
    rec = record()
    store.create(rec)
    events = [OutboxEvent("a", '{"x":1}'), OutboxEvent("b", '{"x":1}')]

    assert store.finish(rec, TaskStatus.SUCCEEDED, events=events, end_ts=time.time()) is True
    assert (
        store.finish(rec, TaskStatus.FAILED, code="X", events=events, end_ts=time.time()) is False
    )

    got = store.get(rec.task_id)
    assert got is not None and got.status == TaskStatus.SUCCEEDED and got.code == ""
    assert got.progress == 100
    entries = store.r.xrange(store.keys.outbox)
    assert [e[1][b"destination"] for e in entries] == [b"a", b"b"]
    assert all(e[1][b"event_id"] == b"E-1" for e in entries)


def test_progress_is_not_written_after_finish(store: TaskStore) -> None:
    rec = record()
    store.create(rec)
    store.set_progress(rec.task_id, 40)
    assert store.get(rec.task_id).progress == 40  # type: ignore[union-attr]
    store.finish(rec, TaskStatus.FAILED, code="X", message="m", end_ts=time.time())
    store.set_progress(rec.task_id, 70)
    got = store.get(rec.task_id)
    assert got is not None and got.progress == 40 and got.status == TaskStatus.FAILED


def test_attempts_are_counted(store: TaskStore) -> None:
    rec = record()
    store.create(rec)
    assert [store.begin_attempt(rec.task_id) for _ in range(3)] == [1, 2, 3]
