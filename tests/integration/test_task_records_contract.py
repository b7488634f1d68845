"""One contract, two implementations: the Redis stores the server runs (TaskStore, ProjectStore)
and the in-memory ones of the API's unit tests (tests/support/memory_state.py). Every
assertion runs against both, and a differential test pages the same tasks through both with
every sort, order and filter, so the in-memory copy cannot drift from the real one."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis

from imm_engine.models import TaskRecord, TaskStatus, iso_time
from imm_engine.state.keys import Keys
from imm_engine.state.projects import Project, ProjectRecords, ProjectStore
from imm_engine.state.query import TaskQuery, build_query, encode_token
from imm_engine.state.store import NotDurable, OutboxEvent, TaskRecords, TaskStore
from tests.support.memory_state import MemoryProjects, MemoryTaskStore

TTL_S = 7 * 86400


@dataclass
class Backend:
    """A store pair and the two things tests do besides the API's calls."""

    name: str
    store: TaskRecords
    projects: ProjectRecords
    finish: Callable[..., bool]
    log_delivery: Callable[[str, dict[str, Any]], None]


def redis_backend(redis_url: str, prefix: str) -> Backend:
    r = redis.Redis.from_url(redis_url)
    keys = Keys(prefix)
    store = TaskStore(r, keys, TTL_S)

    def log_delivery(task_id: str, entry: dict[str, Any]) -> None:
        r.rpush(keys.deliveries(task_id), json.dumps(entry))

    return Backend("redis", store, ProjectStore(r, keys), store.finish, log_delivery)


def memory_backend() -> Backend:
    store = MemoryTaskStore(TTL_S)
    return Backend("memory", store, MemoryProjects(), store.finish, store.log_delivery)


@pytest.fixture(params=[pytest.param("redis", marks=pytest.mark.redis), "memory"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "memory":
        yield memory_backend()
        return
    keys: Keys = request.getfixturevalue("keys")  # a unique prefix, deleted afterwards
    yield redis_backend(request.getfixturevalue("redis_url"), keys.prefix)


def record(project: str = "p", **kwargs: Any) -> TaskRecord:
    task_type = kwargs.pop("task_type", "OfficeConversion")
    base: dict[str, Any] = {
        "project": project,
        "task_type": task_type,
        "task_id": f"{task_type}-{uuid.uuid4()}",
        "request_id": "R",
        "event_id": "E-1",
        "start_ts": time.time(),
        "tags": {"a": 1, "中": "文"},
        "user_data": "u",
        "job": {"source": "oss://bkt/a.docx"},
        "definition": {"ProjectName": project},
    }
    base.update(kwargs)
    return TaskRecord(**base)


def query(**params: Any) -> TaskQuery:
    """ListTasks' query from its parameters, as the API parses them."""
    fields: dict[str, Any] = {
        "task_types": None,
        "status": None,
        "start_range": None,
        "end_range": None,
        "tag_selector": None,
        "sort": None,
        "order": None,
        "max_results": None,
        "next_token": None,
        "with_definition": False,
    }
    fields.update(params)
    return build_query(**fields)


def ids(backend: Backend, project: str, **params: Any) -> list[str]:
    return [r.task_id for r in backend.store.index.page(project, query(**params)).records]


# --- records ---------------------------------------------------------------------------------


def test_a_record_round_trips(backend: Backend) -> None:
    rec = record()
    backend.store.create(rec)
    got = backend.store.get(rec.task_id)
    assert got == rec
    assert got is not None and got.status == TaskStatus.RUNNING
    assert backend.store.get(f"OfficeConversion-{uuid.uuid4()}") is None


def test_delete_removes_the_record_and_its_listing(backend: Backend) -> None:
    keep, gone = record(), record()
    backend.store.create(keep)
    backend.store.create(gone)
    backend.store.delete(gone)
    assert backend.store.get(gone.task_id) is None
    assert ids(backend, "p") == [keep.task_id]
    backend.store.delete(gone)  # twice is fine


def test_a_record_past_its_ttl_is_gone_and_trimmed(backend: Backend) -> None:
    now = time.time()
    old = record(start_ts=now - TTL_S - 5)
    new = record(start_ts=now)
    backend.store.create(old)
    backend.store.create(new)
    assert backend.store.get(old.task_id) is None
    assert ids(backend, "p") == [new.task_id]
    assert backend.store.index.trim("p", now) == 1
    assert backend.store.index.trim("p", now) == 0
    assert ids(backend, "p") == [new.task_id]


def test_finish_sets_the_final_status_once(backend: Backend) -> None:
    rec = record()
    backend.store.create(rec)
    event = OutboxEvent("webhook:t", "{}")
    assert backend.finish(rec, TaskStatus.FAILED, code="InvalidFile", message="m", events=[event])
    assert not backend.finish(rec, TaskStatus.SUCCEEDED)
    got = backend.store.get(rec.task_id)
    assert got is not None
    assert (got.status, got.code, got.message, got.progress) == ("Failed", "InvalidFile", "m", 0)
    assert got.end_ts > 0
    done = record()
    backend.store.create(done)
    assert backend.finish(done, TaskStatus.SUCCEEDED, result={"PageCount": 2}, end_ts=123.5)
    got = backend.store.get(done.task_id)
    assert got is not None and (got.progress, got.end_ts) == (100, 123.5)
    assert not backend.finish(record(), TaskStatus.SUCCEEDED), "no record, nothing to finish"


def test_confirm(backend: Backend) -> None:
    rec = record()
    backend.store.create(rec)
    backend.store.confirm(rec, 0, 10)  # nothing to wait for
    backend.store.confirm(record(), 0, 10)
    if backend.name == "redis":
        r: Any = backend.store
        if int(r.r.info("replication").get("connected_slaves", 0)):
            pytest.skip("this Redis has replicas")
    with pytest.raises(NotDurable, match="0 of 1 replicas acknowledged within 50 ms"):
        backend.store.confirm(rec, 1, 50)
    with pytest.raises(NotDurable, match="not on the master"):
        backend.store.confirm(record(), 1, 50)


def test_deliveries_are_the_log_in_order(backend: Backend) -> None:
    rec = record()
    backend.store.create(rec)
    assert backend.store.deliveries(rec.task_id) == []
    backend.log_delivery(rec.task_id, {"attempt": 1})
    backend.log_delivery(rec.task_id, {"attempt": 2})
    logged = [json.loads(e) for e in backend.store.deliveries(rec.task_id)]
    assert logged == [{"attempt": 1}, {"attempt": 2}]


# --- listing ---------------------------------------------------------------------------------


def five(backend: Backend, project: str = "p") -> list[TaskRecord]:
    """Five tasks 1 ms apart; the second and fourth then succeed, the third fails."""
    now = time.time()
    recs = [
        record(project, start_ts=now + i / 1000, tags={"n": i, "odd": i % 2 == 1}) for i in range(5)
    ]
    for rec in recs:
        backend.store.create(rec)
    backend.finish(recs[1], TaskStatus.SUCCEEDED, end_ts=now + 9)
    backend.finish(recs[3], TaskStatus.SUCCEEDED, end_ts=now + 8)
    backend.finish(recs[2], TaskStatus.FAILED, end_ts=now + 7)
    return recs


def test_listing_sorts_filters_and_pages(backend: Backend) -> None:
    recs = five(backend)
    t = [r.task_id for r in recs]
    assert ids(backend, "p") == sorted(t)
    assert ids(backend, "p", sort="StartTime") == t
    assert ids(backend, "p", sort="StartTime", order="desc") == t[::-1]
    assert ids(backend, "p", sort="EndTime") == [t[2], t[3], t[1], t[0], t[4]]
    assert ids(backend, "p", status="Succeeded", sort="StartTime") == [t[1], t[3]]
    assert ids(backend, "p", tag_selector="odd=true", sort="StartTime") == [t[1], t[3]]
    assert ids(backend, "p", tag_selector="n!=0,!nope", sort="StartTime") == t[1:]
    assert ids(backend, "p", task_types=["ImageToPDF"]) == []
    first = backend.store.index.page("p", query(sort="StartTime", max_results=2))
    assert [r.task_id for r in first.records] == t[:2]
    assert first.next_token_cursor is not None
    assert first.next_token_cursor.task_id == t[1]


def test_not_before_hides_older_tasks(backend: Backend) -> None:
    recs = five(backend)
    page = backend.store.index.page("p", query(sort="StartTime"), not_before=recs[3].start_ts)
    assert [r.task_id for r in page.records] == [recs[3].task_id, recs[4].task_id]


def test_drop_project_empties_the_listing_but_keeps_records(backend: Backend) -> None:
    recs = five(backend)
    five(backend, "other")
    backend.store.index.drop_project("p", ["OfficeConversion"])
    assert ids(backend, "p") == []
    assert len(ids(backend, "other")) == 5
    assert backend.store.get(recs[0].task_id) == recs[0]
    later = record()
    backend.store.create(later)
    assert ids(backend, "p") == [later.task_id]


@pytest.mark.redis
def test_same_pages_from_both(redis_url: str, keys: Keys) -> None:
    """The same 120 tasks in both stores; every page of many listings is the same, down to the
    page token."""
    stores = [redis_backend(redis_url, keys.prefix), memory_backend()]
    rng = random.Random(5)
    now = time.time()
    types = ("OfficeConversion", "ImageToPDF", "FileCompression")
    recs = []
    for i in range(120):
        start = now - rng.uniform(0, 3 * 86400)
        recs.append(
            record(
                task_type=types[i % 3],
                task_id=f"{types[i % 3]}-{uuid.UUID(int=rng.getrandbits(128))}",
                start_ts=round(start, 3) if i % 10 == 0 else start,  # some ties in ms
                tags={"c": f"c{rng.randint(1, 4)}", **({"x": i} if i % 7 == 0 else {})},
            )
        )
    finished = rng.sample(recs, 70)
    for b in stores:
        for rec in recs:
            b.store.create(rec)
        for j, rec in enumerate(finished):
            status = TaskStatus.SUCCEEDED if j % 3 else TaskStatus.FAILED
            assert b.finish(rec, status, end_ts=rec.start_ts + 10 + j % 5)
    listings: list[dict[str, Any]] = [
        {"sort": sort, "order": order, "max_results": size}
        for sort in ("TaskId", "StartTime", "EndTime")
        for order in ("asc", "desc")
        for size in (4, 100)
    ]
    listings += [
        {"status": "Running", "sort": "EndTime", "max_results": 9},
        {"task_types": ["ImageToPDF"], "status": "Failed", "sort": "StartTime", "order": "desc"},
        {"tag_selector": "c=c2", "max_results": 5},
        {"tag_selector": "x", "sort": "EndTime", "order": "desc", "max_results": 4},
        {"tag_selector": "!x,c!=c1", "sort": "StartTime", "max_results": 11},
        {
            "start_range": {"Start": iso_time(now - 86400)},
            "sort": "StartTime",
            "max_results": 8,
        },
        {"end_range": {"End": iso_time(now)}, "sort": "EndTime", "order": "desc", "max_results": 6},
    ]
    for params in listings:
        answers = [_all_pages(b, params, not_before=now - 2 * 86400) for b in stores]
        assert answers[0] == answers[1], params
        assert answers[0][0][0], params  # every listing finds some tasks


def _all_pages(backend: Backend, params: dict[str, Any], not_before: float) -> list[Any]:
    pages: list[Any] = []
    token = None
    while True:
        page = backend.store.index.page(
            "p", query(**params, next_token=token), not_before=not_before
        )
        token = encode_token(page.next_token_cursor) if page.next_token_cursor else None
        pages.append(([r.task_id for r in page.records], token))
        if token is None:
            return pages
        assert len(pages) < 200


# --- projects --------------------------------------------------------------------------------


def project(name: str, **kwargs: Any) -> Project:
    now = time.time()
    return Project(name=name, create_ts=now, update_ts=now, **kwargs)


def test_projects_create_get_update_delete(backend: Backend) -> None:
    projects = backend.projects
    p = project("alpha", description="d", tags=[{"Key": "k", "Value": "v"}])
    assert projects.create(p)
    assert not projects.create(project("alpha", description="other"))
    assert projects.get("alpha") == p
    assert projects.get("nope") is None
    assert projects.update("alpha", {"description": "new", "tags": "[]"})
    got = projects.get("alpha")
    assert got is not None and (got.description, got.tags) == ("new", [])
    assert not projects.update("nope", {"description": "x"})
    assert projects.delete("alpha")
    assert not projects.delete("alpha")
    assert projects.get("alpha") is None


def test_project_names_in_order_from_a_start(backend: Backend) -> None:
    projects = backend.projects
    for name in ("b-2", "a-1", "b-1", "b-10", "c", "B-upper"):
        projects.create(project(name))
    assert projects.names("", None, 100) == ["B-upper", "a-1", "b-1", "b-10", "b-2", "c"]
    assert projects.names("b-", None, 100) == ["b-1", "b-10", "b-2"]
    assert projects.names("b-", None, 2) == ["b-1", "b-10"]
    assert projects.names("b-", "b-10", 5) == ["b-10", "b-2"]
    assert projects.names("b-", "b-10", 5, exclusive=True) == ["b-2"]
    assert projects.names("b-", "a", 5) == ["b-1", "b-10", "b-2"]  # a start before the prefix
    assert projects.names("", "b-10", 2, exclusive=True) == ["b-2", "c"]
    assert projects.names("zz", None, 5) == []
    many = projects.get_many(["c", "nope", "a-1"])
    assert [p.name for p in many] == ["c", "a-1"]
