"""ListTasks through the official SDK and Redis: RequestDefinition, expiry, and the latency of a
page among 20,000 tasks (reported, not asserted). Filters, sorting, paging and refused
parameters are the action's unit tests (tests/unit/test_list_tasks_action.py, in memory)."""

from __future__ import annotations

import json
import random
import statistics
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from alibabacloud_imm20200930 import models as m

from imm_engine.models import TaskRecord, TaskStatus, iso_time
from imm_engine.state.keys import Keys
from imm_engine.state.projects import Project, ProjectStore
from imm_engine.state.store import TaskStore
from tests.support.api_server import REDIS_URL, ApiServer, running
from tests.support.needs import need, redis_available

pytestmark = [pytest.mark.e2e, pytest.mark.redis]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    need(redis_available(REDIS_URL), "Redis on 127.0.0.1:6379")
    with running(tmp_path_factory.mktemp("list")) as server:
        yield server


@pytest.fixture(scope="module")
def client(api: ApiServer) -> Any:
    return api.client()


@pytest.fixture(scope="module")
def store(api: ApiServer) -> TaskStore:
    return TaskStore(redis.Redis.from_url(REDIS_URL), Keys(api.prefix), 7 * 86400)


def listing(client: Any, project: str, **kwargs: Any) -> tuple[list[Any], int]:
    """Every task through NextToken; returns the tasks and the number of pages."""
    tasks: list[Any] = []
    pages = 0
    token = None
    while True:
        body = client.list_tasks(
            m.ListTasksRequest(project_name=project, next_token=token, **kwargs)
        ).body
        pages += 1
        assert body.project_name == project
        assert body.max_results == str(len(body.tasks))
        tasks += body.tasks
        token = body.next_token
        if not token:
            return tasks, pages
        assert pages < 500


@pytest.fixture(scope="module")
def project(client: Any, store: TaskStore) -> dict[str, Any]:
    """12 conversion tasks created through the SDK; 4 then succeed and 3 fail."""
    name = f"lt-{uuid.uuid4().hex[:8]}"
    client.create_project(m.CreateProjectRequest(project_name=name))
    ids = []
    for i in range(12):
        ids.append(
            client.create_office_conversion_task(
                m.CreateOfficeConversionTaskRequest(
                    project_name=name,
                    source_uri=f"oss://bkt/in/{i}.docx",
                    target_type="pdf",
                    target_uri="oss://bkt/out/{barename}.pdf",
                    tags={"batch": "even" if i % 2 == 0 else "odd", "i": i},
                    user_data=f"u{i}",
                    password="secret" if i == 0 else None,
                )
            ).body.task_id
        )
        time.sleep(0.002)  # distinct start times
    finished_at = time.time()
    for i in range(4, 11):
        rec = store.get(ids[i])
        assert rec is not None
        status = TaskStatus.SUCCEEDED if i < 8 else TaskStatus.FAILED
        code = "" if status == TaskStatus.SUCCEEDED else "InvalidFile"
        # The worker's own completion step; end times in reverse order of start.
        assert store.finish(rec, status, code=code, end_ts=finished_at + (20 - i))
    return {"name": name, "ids": ids, "finished_at": finished_at}


def test_request_definition(client: Any, project: dict[str, Any]) -> None:
    body = client.list_tasks(
        m.ListTasksRequest(
            project_name=project["name"], request_definition=True, sort="StartTime", max_results=1
        )
    ).body
    definition = json.loads(body.tasks[0].task_request_definition)
    assert definition["ProjectName"] == project["name"]
    assert definition["SourceURI"] == "oss://bkt/in/0.docx"
    assert definition["Tags"] == {"batch": "even", "i": 0}
    assert definition["Password"] == "******"
    get = client.get_task(
        m.GetTaskRequest(
            project_name=project["name"],
            task_type="OfficeConversion",
            task_id=project["ids"][0],
            request_definition=True,
        )
    ).body
    assert json.loads(get.task_request_definition) == definition


def test_expired_tasks_disappear_from_the_listing_and_the_indexes(tmp_path: Any) -> None:
    with running(tmp_path, {"IMM_TASK_TTL": "60"}) as api:
        client = api.client()
        r = redis.Redis.from_url(REDIS_URL)
        keys = Keys(api.prefix)
        store = TaskStore(r, keys, ttl_s=60)
        now = time.time()
        # The project exists since before the old tasks started (written like the API would).
        ProjectStore(r, keys).create(Project(name="exp", create_ts=now - 3600, update_ts=now))
        old = [
            TaskRecord(
                project="exp",
                task_type="OfficeConversion",
                task_id=f"OfficeConversion-{uuid.uuid4()}",
                request_id="R",
                event_id="E",
                start_ts=now - 55,
            )
            for _ in range(30)
        ]
        store.create_many(old)
        new = client.create_office_conversion_task(
            m.CreateOfficeConversionTaskRequest(
                project_name="exp",
                source_uri="oss://bkt/a.docx",
                target_type="pdf",
                target_uri="oss://bkt/{barename}.pdf",
            )
        ).body.task_id
        tasks, _ = listing(client, "exp", max_results=7)
        assert len(tasks) == 31
        time.sleep(max(0.0, now + 6 - time.time()))  # the old records expire by now + 5
        tasks, _ = listing(client, "exp", max_results=7)
        assert [t.task_id for t in tasks] == [new]
        old_ids = {rec.task_id for rec in old}
        index_keys = list(r.scan_iter(f"{api.prefix}:project:exp:tasks*"))
        assert index_keys
        for key in index_keys:
            assert not {x.decode() for x in r.zrange(key, 0, -1)} & old_ids, key


def test_latency_of_a_page_among_20000_tasks(
    client: Any, api: ApiServer, store: TaskStore, record_property: Any
) -> None:
    name = "big"
    now = time.time()
    ProjectStore(store.r, store.keys).create(
        Project(name=name, create_ts=now - 7 * 86400, update_ts=now)
    )
    rng = random.Random(11)
    types = ("OfficeConversion", "ImageToPDF", "FileCompression", "MediaConvert")
    recs = []
    for i in range(20_000):
        task_type = types[i % 4]
        status = rng.choices(list(TaskStatus), weights=(10, 85, 5))[0]
        start = now - 6.5 * 86400 * (i / 20_000)
        recs.append(
            TaskRecord(
                project=name,
                task_type=task_type,
                task_id=f"{task_type}-{uuid.UUID(int=rng.getrandbits(128))}",
                request_id="R",
                event_id="E",
                start_ts=start,
                status=status,
                end_ts=0.0 if status == TaskStatus.RUNNING else start + rng.uniform(1, 60),
                tags={"customer": f"c{rng.randint(1, 50)}"},
                definition={"ProjectName": name, "SourceURI": f"oss://bkt/{i}.docx"},
            )
        )
    t0 = time.perf_counter()
    store.create_many(recs, batch=1000)
    insert_s = time.perf_counter() - t0

    def timed(**kwargs: Any) -> tuple[float, Any]:
        t = time.perf_counter()
        body = client.list_tasks(m.ListTasksRequest(project_name=name, **kwargs)).body
        return (time.perf_counter() - t) * 1000, body

    results: dict[str, float] = {}
    # Paging the default listing (TaskId order), 100 per page: the first 20 pages.
    page_ms = []
    token = None
    seen: list[str] = []
    for _ in range(20):
        ms, body = timed(next_token=token)
        page_ms.append(ms)
        assert len(body.tasks) == 100
        seen += [t.task_id for t in body.tasks]
        token = body.next_token
    assert seen == sorted(r.task_id for r in recs)[:2000]
    results["TaskId page (median of 20)"] = statistics.median(page_ms)
    for label, kwargs in {
        "Status=Failed, StartTime desc": {"status": "Failed", "sort": "StartTime", "order": "desc"},
        "TaskTypes=[ImageToPDF], EndTime": {"task_types": ["ImageToPDF"], "sort": "EndTime"},
        "TagSelector customer=c7 (no index)": {"tag_selector": "customer=c7"},
        "StartTimeRange last day": {
            "sort": "StartTime",
            "start_time_range": m.TimeRange(start=iso_time(now - 86400)),
        },
        "TagSelector matching nothing (full scan)": {"tag_selector": "customer=nobody"},
    }.items():
        ms, body = timed(**kwargs)
        results[label] = ms
        if "nothing" in label:
            assert body.tasks == [] and not body.next_token
        else:
            assert len(body.tasks) == 100 and body.next_token
    report = ", ".join(f"{k}: {v:.1f} ms" for k, v in results.items())
    print(f"\nListTasks among 20,000 tasks (inserted in {insert_s:.1f} s): {report}")
    for k, v in results.items():
        record_property(k, round(v, 1))
