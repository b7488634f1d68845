"""The ListTasks indexes against the real Redis: every sort, order and filter, paged to the end,
gives exactly what sorting and filtering all records in Python gives."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from imm_engine.models import TaskRecord, TaskStatus
from imm_engine.state.keys import Keys
from imm_engine.state.query import build_query, encode_token
from imm_engine.state.store import TaskStore
from imm_engine.state.task_index import FAMILIES, RUNNING_BASE

pytestmark = pytest.mark.redis

PROJECT = "proj"
TYPES = ("OfficeConversion", "ImageToPDF", "FileCompression")


@pytest.fixture()
def store(redis_url: str) -> Iterator[TaskStore]:
    client = redis.Redis.from_url(redis_url)
    keys = Keys(f"immtest{uuid.uuid4().hex[:8]}")
    yield TaskStore(client, keys, ttl_s=7 * 86400)
    for key in client.scan_iter(f"{keys.prefix}*"):
        client.delete(key)


def make(rng: random.Random, now: float, **kwargs: Any) -> TaskRecord:
    task_type = kwargs.pop("task_type", rng.choice(TYPES))
    start = kwargs.pop("start_ts", now - rng.uniform(0, 6 * 86400))
    status = kwargs.pop("status", rng.choice(list(TaskStatus)))
    end = 0.0 if status == TaskStatus.RUNNING else start + rng.uniform(0.5, 600)
    return TaskRecord(
        project=PROJECT,
        task_type=task_type,
        task_id=f"{task_type}-{uuid.UUID(int=rng.getrandbits(128))}",
        request_id="R",
        event_id="E",
        start_ts=round(start, 3),
        status=status,
        end_ts=round(end, 3) if end else 0.0,
        tags=kwargs.pop("tags", {"batch": rng.choice(["a", "b"]), "n": rng.randint(1, 3)}),
        **kwargs,
    )


def query(**kwargs: Any) -> Any:
    base: dict[str, Any] = dict.fromkeys(
        (
            "task_types", "status", "start_range", "end_range", "tag_selector", "sort",
            "order", "max_results", "next_token",
        )
    )  # fmt: skip
    base["with_definition"] = False
    base.update(kwargs)
    return build_query(**base)


def list_all(store: TaskStore, **kwargs: Any) -> tuple[list[str], int]:
    ids: list[str] = []
    pages = 0
    token = kwargs.pop("next_token", None)
    while True:
        page = store.index.page(PROJECT, query(next_token=token, **kwargs))
        pages += 1
        ids += [r.task_id for r in page.records]
        if page.next_token_cursor is None:
            return ids, pages
        token = encode_token(page.next_token_cursor)
        assert pages < 1000


def expected(records: list[TaskRecord], sort: str, order: str, keep: Any) -> list[str]:
    def key(r: TaskRecord) -> tuple[Any, ...]:
        if sort == "TaskId":
            return (r.task_id,)
        if sort == "StartTime":
            return (int(r.start_ts * 1000), r.task_id)
        end = int(r.end_ts * 1000) if r.end_ts else RUNNING_BASE + int(r.start_ts * 1000)
        return (end, r.task_id)

    chosen = sorted((r for r in records if keep(r)), key=key, reverse=order == "desc")
    return [r.task_id for r in chosen]


@pytest.fixture()
def records(store: TaskStore) -> list[TaskRecord]:
    rng = random.Random(7)
    now = time.time()
    recs = [make(rng, now) for _ in range(300)]
    # Ties: several tasks started in the same millisecond.
    recs += [make(rng, now, start_ts=now - 3600, status=TaskStatus.RUNNING) for _ in range(5)]
    store.create_many(recs, batch=64)
    return recs


@pytest.mark.parametrize("sort", ["TaskId", "StartTime", "EndTime"])
@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("page_size", [7, 100])
def test_every_sort_and_order_pages_through_everything_once(
    store: TaskStore, records: list[TaskRecord], sort: str, order: str, page_size: int
) -> None:
    ids, pages = list_all(store, sort=sort, order=order, max_results=page_size)
    assert ids == expected(records, sort, order, lambda r: True)
    assert pages == -(-len(records) // page_size)


FILTERS: list[tuple[dict[str, Any], Any]] = [
    ({"status": "Failed"}, lambda r: r.status == "Failed"),
    ({"task_types": ["ImageToPDF"]}, lambda r: r.task_type == "ImageToPDF"),
    (
        {"task_types": ["ImageToPDF", "FileCompression"], "status": "Running"},
        lambda r: r.task_type in ("ImageToPDF", "FileCompression") and r.status == "Running",
    ),
    ({"tag_selector": "batch=a,n=2"}, lambda r: r.tags["batch"] == "a" and r.tags["n"] == 2),
    ({"task_types": ["NoSuchType"]}, lambda r: False),
]


@pytest.mark.parametrize(("filters", "keep"), FILTERS)
@pytest.mark.parametrize("sort", ["TaskId", "StartTime", "EndTime"])
def test_filters_give_exactly_the_matching_tasks(
    store: TaskStore, records: list[TaskRecord], filters: dict[str, Any], keep: Any, sort: str
) -> None:
    ids, _ = list_all(store, sort=sort, order="desc", max_results=9, **filters)
    assert ids == expected(records, sort, "desc", keep)


@pytest.mark.parametrize("sort", ["TaskId", "StartTime", "EndTime"])
def test_time_ranges(store: TaskStore, records: list[TaskRecord], sort: str) -> None:
    now = time.time()
    lo, hi = now - 4 * 86400, now - 2 * 86400
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(lo))
    iso_hi = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(hi))
    lo, hi = float(int(lo)), float(int(hi))
    ids, _ = list_all(store, sort=sort, start_range={"Start": iso, "End": iso_hi}, max_results=10)
    assert ids == expected(records, sort, "asc", lambda r: lo <= r.start_ts <= hi)
    ids, _ = list_all(store, sort=sort, end_range={"Start": iso}, max_results=10)
    assert ids == expected(records, sort, "asc", lambda r: r.end_ts and r.end_ts >= lo)


def test_finish_moves_the_task_to_its_final_status(store: TaskStore) -> None:
    rng = random.Random(1)
    rec = make(rng, time.time(), status=TaskStatus.RUNNING, start_ts=time.time())
    store.create(rec)
    assert list_all(store, status="Running")[0] == [rec.task_id]
    assert store.finish(rec, TaskStatus.FAILED, code="InvalidFile", message="bad")
    assert list_all(store, status="Running")[0] == []
    for sort in ("TaskId", "StartTime", "EndTime"):
        assert list_all(store, status="Failed", sort=sort)[0] == [rec.task_id]
    end_score = store.r.zscore(store.index.key(PROJECT, "end"), rec.task_id)
    assert end_score is not None and end_score < RUNNING_BASE
    # Every index set expires no earlier than the record.
    record_ttl = store.r.ttl(store.keys.task(rec.task_id))
    for key in store.index.keys_of(PROJECT, rec.task_type):
        if store.r.exists(key):
            assert store.r.ttl(key) >= record_ttl - 1, key


@pytest.mark.parametrize("sort", ["TaskId", "StartTime", "EndTime"])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_a_cursor_task_that_left_the_set_does_not_lose_the_place(
    store: TaskStore, sort: str, order: str
) -> None:
    rng = random.Random(2)
    now = time.time()
    recs = [
        make(rng, now, status=TaskStatus.RUNNING, start_ts=now - 100 + i, task_type="ImageToPDF")
        for i in range(10)
    ]
    store.create_many(recs)
    ordered = expected(recs, sort, order, lambda r: True)
    page = store.index.page(PROJECT, query(status="Running", sort=sort, order=order, max_results=4))
    assert [r.task_id for r in page.records] == ordered[:4]
    assert page.next_token_cursor is not None
    store.finish(page.records[-1], TaskStatus.SUCCEEDED)  # the last task of the page finishes
    token = encode_token(page.next_token_cursor)
    rest, _ = list_all(
        store, status="Running", sort=sort, order=order, max_results=4, next_token=token
    )
    assert rest == ordered[4:]


def test_expired_tasks_leave_every_index(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    keys = Keys(f"immtest{uuid.uuid4().hex[:8]}")
    store = TaskStore(client, keys, ttl_s=60)
    try:
        rng = random.Random(3)
        now = time.time()
        old = [make(rng, now, start_ts=now - 56) for _ in range(20)]
        new = [make(rng, now, start_ts=now) for _ in range(5)]
        store.create_many(old + new)
        assert len(list_all(store)[0]) == 25
        time.sleep(max(0.0, now + 5 - time.time()))  # records expire by now + 4
        # The records are gone (Redis expired them) and ListTasks no longer shows them...
        assert all(store.get(r.task_id) is None for r in old)
        assert sorted(list_all(store)[0]) == sorted(r.task_id for r in new)
        # ...and once trimmed, no index set holds them.
        assert store.index.trim(PROJECT, time.time()) == 20
        for task_type in TYPES:
            for key in store.index.keys_of(PROJECT, task_type):
                members = {m.decode() for m in client.zrange(key, 0, -1)}
                assert not members & {r.task_id for r in old}, key
        assert client.zcard(keys.project_index(PROJECT)) == 5
        assert FAMILIES == ("id", "start", "end")
    finally:
        for key in client.scan_iter(f"{keys.prefix}*"):
            client.delete(key)


def test_delete_removes_the_task_from_every_index(store: TaskStore) -> None:
    rec = make(random.Random(4), time.time(), status=TaskStatus.RUNNING)
    store.create(rec)
    store.delete(rec)
    for key in store.index.keys_of(PROJECT, rec.task_type):
        assert store.r.zscore(key, rec.task_id) is None


def test_creating_tasks_trims_projects_that_are_never_listed(redis_url: str) -> None:
    from imm_engine.state.store import TRIM_EVERY

    client = redis.Redis.from_url(redis_url)
    keys = Keys(f"immtest{uuid.uuid4().hex[:8]}")
    store = TaskStore(client, keys, ttl_s=60)
    try:
        rng = random.Random(5)
        now = time.time()
        old = [make(rng, now, start_ts=now - 59) for _ in range(10)]
        store.create_many(old)
        time.sleep(1.2)
        for _ in range(TRIM_EVERY):
            store.create(make(rng, time.time(), start_ts=time.time()))
        assert client.zcard(keys.project_index(PROJECT)) == TRIM_EVERY
        assert client.zcard(store.index.key(PROJECT, "id")) == TRIM_EVERY
    finally:
        for key in client.scan_iter(f"{keys.prefix}*"):
            client.delete(key)


TAG_VALUES: list[Any] = [
    "x",
    'say "hi"',
    "中文",
    "a,b",
    1,
    1.5,
    True,
    False,
    None,
    [1, 2],
    {"k": "x"},
    "",
    "1",
]


@pytest.mark.parametrize(
    "selector",
    [
        "t=x",
        't="say \\"hi\\""',
        "t=中文",
        't="a,b"',
        "t=1",
        "t=1.5",
        "t=true",
        "t=false",
        "t=null",
        't="[1,2]"',
        't="{\\"k\\":\\"x\\"}"',
        't=""',
        "t",
        "!t",
        "t!=x",
        "k=x",  # only nested inside another tag's value: never a match
        "t=1,u",
    ],
)
def test_tag_selectors_with_every_kind_of_value(store: TaskStore, selector: str) -> None:
    rng = random.Random(6)
    now = time.time()
    recs = []
    for i, value in enumerate(TAG_VALUES * 2):
        tags: dict[str, Any] = {"t": value} if i < len(TAG_VALUES) else {"other": value}
        if i % 3 == 0:
            tags["u"] = "here"
        recs.append(make(rng, now, tags=tags))
    store.create_many(recs)
    q = query(tag_selector=selector)
    want = sorted(
        r.task_id for r in recs if q.matches(r.task_type, r.status, r.start_ts, r.end_ts, r.tags)
    )
    assert list_all(store, tag_selector=selector, max_results=3)[0] == want
    if selector not in ("!t", "t!=x", "k=x"):
        assert want, "the selector matches something"


def tag_members(store: TaskStore) -> set[str]:
    """Every TaskId in any of the project's tag sets."""
    out: set[str] = set()
    pattern = f"{store.keys.prefix}:project:{PROJECT}:tasks:*:tag*"
    for key in store.r.scan_iter(pattern):
        if store.r.type(key) == b"zset":
            out |= {m.decode() for m in store.r.zrange(key, 0, -1)}
    return out


@pytest.mark.parametrize("sort", ["TaskId", "StartTime", "EndTime"])
def test_a_tag_filter_walks_the_tag_set(
    store: TaskStore, records: list[TaskRecord], sort: str
) -> None:
    family = {"TaskId": "id", "StartTime": "start", "EndTime": "end"}[sort]
    q = query(tag_selector="n=2,batch", sort=sort)
    chosen = store.index._narrowest(PROJECT, family, q)
    assert chosen == store.index.key(PROJECT, family, "tag", '["n","2"]')
    assert store.r.zcard(chosen) == sum(1 for r in records if r.tags["n"] == 2)
    # A tag key narrows to the tasks that have it.
    has_batch = store.index._narrowest(PROJECT, family, query(tag_selector="batch"))
    assert has_batch == store.index.key(PROJECT, family, "tagkey", "batch")
    assert store.r.zcard(has_batch) == len(records)
    # The !key and != conditions cannot narrow: the project's set is walked.
    assert store.index._narrowest(PROJECT, family, query(tag_selector="!n,batch!=a")) == (
        store.index.key(PROJECT, family)
    )


def test_finishing_gives_the_tag_sets_the_end_time(store: TaskStore) -> None:
    rec = make(random.Random(8), time.time(), status=TaskStatus.RUNNING, tags={"k": "v"})
    store.create(rec)
    end_set = store.index.key(PROJECT, "end", "tag", '["k","v"]')
    assert store.r.zscore(end_set, rec.task_id) >= RUNNING_BASE
    assert store.finish(rec, TaskStatus.SUCCEEDED)
    assert store.r.zscore(end_set, rec.task_id) < RUNNING_BASE
    assert list_all(store, tag_selector="k=v", sort="EndTime", status="Succeeded")[0] == [
        rec.task_id
    ]


def test_tag_sets_are_trimmed_with_the_records(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    keys = Keys(f"immtest{uuid.uuid4().hex[:8]}")
    store = TaskStore(client, keys, ttl_s=60)
    try:
        rng = random.Random(9)
        now = time.time()
        old = [
            make(rng, now, start_ts=now - 57, tags={"u": f"user{i}", "b": "x"}) for i in range(8)
        ]
        new = [make(rng, now, start_ts=now, tags={"b": "x"}) for _ in range(3)]
        store.create_many(old + new)
        assert tag_members(store) == {r.task_id for r in old + new}
        time.sleep(max(0.0, now + 4 - time.time()))  # the old records expire by now + 3
        assert all(store.get(r.task_id) is None for r in old)
        assert store.index.trim(PROJECT, time.time()) == 8
        assert tag_members(store) == {r.task_id for r in new}
        assert client.hlen(keys.task_tags(PROJECT)) == 3
        # A tag value only expired tasks had leaves no set behind.
        assert not list(client.scan_iter(f"{keys.prefix}*user*"))
    finally:
        for key in client.scan_iter(f"{keys.prefix}*"):
            client.delete(key)


def test_tasks_created_before_tags_were_indexed_are_found(store: TaskStore) -> None:
    rng = random.Random(10)
    now = time.time()
    recs = [make(rng, now, tags={"batch": rng.choice("ab"), "n": i % 4}) for i in range(120)]
    store.create_many(recs)
    done = [r for r in recs if r.status != TaskStatus.RUNNING]
    # What an older version wrote: no tag sets, no tags hash, no ready marker.
    for key in store.r.scan_iter(f"{store.keys.prefix}:project:{PROJECT}:tasks:*tag*"):
        store.r.delete(key)
    assert tag_members(store) == set()
    store.index._tags_ready.clear()
    for sort in ("TaskId", "EndTime"):
        ids, _ = list_all(store, tag_selector="batch=a,n=1", sort=sort, max_results=5)
        assert ids == expected(
            recs, sort, "asc", lambda r: r.tags["batch"] == "a" and r.tags["n"] == 1
        )
    assert tag_members(store) == {r.task_id for r in recs}
    assert store.r.hlen(store.keys.task_tags(PROJECT)) == len(recs)
    assert store.r.get(store.keys.task_tags_ready(PROJECT)) == b"1"
    # Once: a second process finds the project ready and does not walk it again.
    other = TaskStore(store.r, store.keys, store.ttl_s)
    assert other.index.tags_ready(PROJECT)
    assert not store.r.exists(store.keys.task_tags_walk(PROJECT))
    assert done  # finished ones got their end score from the record
    rec = done[0]
    tag_set = store.index.key(PROJECT, "end", "tag", f'["batch","{rec.tags["batch"]}"]')
    end = store.r.zscore(tag_set, rec.task_id)
    assert end == int(rec.end_ts * 1000)


def test_a_listing_while_another_process_backfills_is_still_right(store: TaskStore) -> None:
    rng = random.Random(11)
    now = time.time()
    recs = [make(rng, now, tags={"batch": rng.choice("ab")}) for _ in range(60)]
    store.create_many(recs)
    for key in store.r.scan_iter(f"{store.keys.prefix}:project:{PROJECT}:tasks:*tag*"):
        store.r.delete(key)
    store.index._tags_ready.clear()
    store.r.set(store.keys.task_tags_walk(PROJECT), "1", ex=60)  # another process walks
    ids, _ = list_all(store, tag_selector="batch=a", max_results=7)
    assert ids == expected(recs, "TaskId", "asc", lambda r: r.tags["batch"] == "a")
    assert not store.r.exists(store.keys.task_tags_ready(PROJECT))  # not this process's walk
    assert tag_members(store) == set()
