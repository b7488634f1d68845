"""Accepted means durable (docs/architecture.md): Create*Task answers with a TaskId only once
IMM_REDIS_WAIT_REPLICAS replicas hold the task, and 503 otherwise, leaving nothing behind.

The shared test Redis has no replicas, so asking for one more than it has can never be met
(the Sentinel fault test, tests/faults/test_sentinel_failover.py, shows the met case)."""

from __future__ import annotations

import time
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import redis

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from imm_engine.api.app import create_app
from imm_engine.models import TaskRecord
from imm_engine.settings import Settings
from imm_engine.state.keys import Keys
from imm_engine.state.store import NotDurable, TaskStore
from tests.support.hostile_params import VALID
from tests.support.signing import raw_query, send, sign

pytestmark = pytest.mark.redis

KEY_ID, SECRET = "durable-ak", "durable-secret"
HOST = "127.0.0.1:8080"


def replicas_of(r: redis.Redis) -> int:
    info: Any = r.info("replication")
    return int(info.get("connected_slaves", 0))


@pytest.fixture()
def store(redis_url: str) -> Iterator[TaskStore]:
    r = redis.Redis.from_url(redis_url)
    keys = Keys(f"immtest{uuid.uuid4().hex[:8]}")
    yield TaskStore(r, keys, ttl_s=3600)
    for key in r.scan_iter(f"{keys.prefix}*"):
        r.delete(key)


def record() -> TaskRecord:
    return TaskRecord(
        "p", "OfficeConversion", f"OfficeConversion-{uuid.uuid4()}", "R", "E", time.time()
    )


def test_confirm_waits_for_the_replicas_it_has(store: TaskStore) -> None:
    rec = record()
    store.create(rec)
    store.confirm(rec, 0, 10)  # nothing to wait for
    have = replicas_of(store.r)
    if have:
        store.confirm(rec, have, 2000)
    with pytest.raises(NotDurable, match=f"of {have + 1} replicas"):
        store.confirm(rec, have + 1, 50)
    # The record's expiry was set again, to the same time.
    assert abs(int(store.r.ttl(store.keys.task(rec.task_id))) - 3600) <= 2


def test_confirm_of_a_record_that_is_gone(store: TaskStore) -> None:
    with pytest.raises(NotDurable, match="not on the master"):
        store.confirm(record(), 1, 50)


def test_create_is_503_and_leaves_nothing_when_no_replica_confirms(redis_url: str) -> None:
    r = redis.Redis.from_url(redis_url)
    prefix = f"immtest{uuid.uuid4().hex[:8]}"
    settings = Settings(
        redis_url=redis_url,
        key_prefix=prefix,
        access_keys={KEY_ID: SECRET},
        access_keys_default=False,
        default_projects=("test-project",),
        redis_wait_replicas=replicas_of(r) + 1,
        redis_wait_timeout_ms=100,
    )
    app = create_app(settings)
    try:
        with TestClient(app, base_url=f"http://{HOST}", raise_server_exceptions=False) as client:
            pairs = list(VALID.items())
            response = send(
                client, sign(HOST, pairs, key_id=KEY_ID, secret=SECRET), raw_query(pairs)
            )
            body = response.json()
            assert (response.status_code, body["Code"]) == (503, "ServiceUnavailable"), body
            assert "replica" in body["Message"]
            records = [k for k in r.scan_iter(f"{prefix}:task:*") if k.count(b":") == 2]
            assert records == []
    finally:
        app.state.endpoint.services.queue.close()
        for key in r.scan_iter(f"{prefix}*", count=1000):
            r.delete(key)
