"""Split tasks' Redis state (imm_engine/state/split.py) and the temporary PDF
(workers/split/scratch.py) against the real Redis and the local storage backend."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import redis

from imm_engine.models import TaskRecord
from imm_engine.state.keys import Keys
from imm_engine.state.split import PageOut, Plan, SplitStore
from imm_engine.state.store import TaskStore
from imm_engine.storage.local import LocalStore
from workers.split import scratch

pytestmark = pytest.mark.redis


def running_task(client: redis.Redis, keys: Keys) -> TaskRecord:
    rec = TaskRecord(
        project="p",
        task_type="OfficeConversion",
        task_id=f"OfficeConversion-{uuid.uuid4()}",
        request_id="R",
        event_id="E-1",
        start_ts=time.time(),
    )
    TaskStore(client, keys, 3600).create(rec)
    return rec


def plan(task_id: str, ranges: int = 3) -> Plan:
    """`ranges` ranges of 2 pages each."""
    pages = [PageOut(n, n - 1, f"oss://b/{n}.png") for n in range(1, 2 * ranges + 1)]
    return Plan(
        task_id=task_id,
        pdf="oss://b/.imm-engine/split/x/source.pdf",
        password="",
        pages=len(pages),
        ranges=[pages[k : k + 2] for k in range(0, len(pages), 2)],
        result={"PageCount": len(pages)},
    )


def test_plan_is_written_once(redis_url: str, keys: Keys) -> None:
    client = redis.Redis.from_url(redis_url)
    splits = SplitStore(client, keys, 600)
    first = plan("T-1")
    assert splits.create(first)
    assert not splits.create(plan("T-1", ranges=5)), "a second parent run keeps the first plan"
    got = splits.get("T-1")
    assert got is not None
    assert got.ranges == first.ranges and got.result == first.result and not got.published
    splits.mark_published("T-1")
    assert splits.get("T-1").published  # type: ignore[union-attr]
    assert splits.get("T-2") is None


def test_only_the_set_of_all_ranges_completes(redis_url: str, keys: Keys) -> None:
    client = redis.Redis.from_url(redis_url)
    splits = SplitStore(client, keys, 600)
    splits.create(plan("T-1", ranges=3))
    assert splits.range_done("T-1", 2) is False
    assert splits.range_done("T-1", 2) is False, "a range run twice counts once"
    assert splits.range_done("T-1", 0) is False
    assert splits.range_done("T-1", 1) is True
    assert splits.range_done("T-1", 1) is True, "a redelivered last range still sees complete"
    splits.drop("T-1")
    assert splits.range_done("T-1", 1) is None, "no plan: the task ended"


def test_written_pages_move_progress_forward_only_while_running(redis_url: str, keys: Keys) -> None:
    client = redis.Redis.from_url(redis_url)
    splits = SplitStore(client, keys, 600)
    rec = running_task(client, keys)
    store = TaskStore(client, keys, 3600)
    assert splits.page_written(rec.task_id, 3, 10) == 1
    assert store.get(rec.task_id).progress == 54  # type: ignore[union-attr]
    assert splits.page_written(rec.task_id, 3, 10) == 1, "the same page twice counts once"
    for page in (1, 2, 7):
        splits.page_written(rec.task_id, page, 10)
    assert store.get(rec.task_id).progress == 50 + 49 * 4 // 10  # type: ignore[union-attr]
    assert splits.written(rec.task_id) == [1, 2, 3, 7]
    store.finish(rec, "Succeeded")  # type: ignore[arg-type]
    splits.page_written(rec.task_id, 9, 10)
    assert store.get(rec.task_id).progress == 100, "a final record is not touched"  # type: ignore[union-attr]


def test_temporary_pdf_is_deleted_and_orphans_are_swept(
    redis_url: str, keys: Keys, tmp_path: Path
) -> None:
    client = redis.Redis.from_url(redis_url)
    splits = SplitStore(client, keys, 600)
    storage = LocalStore(tmp_path / "storage")
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(b"%PDF-1.7 test")

    kept, orphan = scratch.uri_for("T-kept", "bkt"), scratch.uri_for("T-orphan", "bkt")
    scratch.put(storage, splits, pdf, kept)
    scratch.put(storage, splits, pdf, orphan)
    assert storage.stat(kept) is not None and storage.stat(orphan) is not None
    assert str(kept).startswith("oss://bkt/.imm-engine/split/T-kept/")

    assert scratch.sweep(storage, splits, now=time.time()) == 0, "nothing is past its lifetime"
    client.zadd(keys.split_scratch, {str(orphan): time.time() - 1})  # its owner crashed long ago
    assert scratch.sweep(storage, splits) == 1
    assert storage.stat(orphan) is None
    assert storage.stat(kept) is not None

    assert scratch.delete(storage, splits, str(kept))
    assert storage.stat(kept) is None
    assert client.zcard(keys.split_scratch) == 0
    assert scratch.delete(storage, splits, str(kept)), "deleting twice is fine"
