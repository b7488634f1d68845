"""ListTasks, the action: filters, sorting, paging and refused parameters, on the in-memory
task store (tests/support/memory_state.py; tests/integration/test_task_records_contract.py
holds it to the Redis store). tests/e2e/test_list_tasks.py lists through the SDK and Redis:
RequestDefinition, expiry and the latency among 20,000 tasks."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from imm_engine.errors import ApiError
from imm_engine.models import TaskStatus, iso_time
from tests.support.api_services import MemoryApi

PROJECT = "lt-project"


def listing(api: MemoryApi, project: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every task through NextToken; returns the tasks and the number of pages."""
    tasks: list[dict[str, Any]] = []
    pages = 0
    token = None
    while True:
        body = api.call("ListTasks", ProjectName=project, NextToken=token, **params)
        pages += 1
        assert body["ProjectName"] == project
        assert body["MaxResults"] == str(len(body["Tasks"]))
        tasks += body["Tasks"]
        token = body.get("NextToken")
        if not token:
            return tasks, pages
        assert pages < 500


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    """12 conversion tasks created through the action; 4 then succeed and 3 fail. Start times
    are 2 ms apart: the store's clock is the test's, not the wall clock."""
    api = MemoryApi()
    api.call("CreateProject", ProjectName=PROJECT)
    ids = []
    for i in range(12):
        ids.append(
            api.call(
                "CreateOfficeConversionTask",
                ProjectName=PROJECT,
                SourceURI=f"oss://bkt/in/{i}.docx",
                TargetType="pdf",
                TargetURI="oss://bkt/out/{barename}.pdf",
                Tags={"batch": "even" if i % 2 == 0 else "odd", "i": i},
                UserData=f"u{i}",
                Password="secret" if i == 0 else None,
            )["TaskId"]
        )
    store = api.store
    base = store.get(ids[0]).start_ts  # type: ignore[union-attr]
    for i, task_id in enumerate(ids):  # distinct start times, in creation order
        rec = store.get(task_id)
        assert rec is not None
        store.create(replace(rec, start_ts=base + i * 0.002))
    finished_at = base + 1
    for i in range(4, 11):
        rec = store.get(ids[i])
        assert rec is not None
        status = TaskStatus.SUCCEEDED if i < 8 else TaskStatus.FAILED
        code = "" if status == TaskStatus.SUCCEEDED else "InvalidFile"
        # The worker's own completion step; end times in reverse order of start.
        assert store.finish(rec, status, code=code, end_ts=finished_at + (20 - i))
    return {"api": api, "name": PROJECT, "ids": ids, "finished_at": finished_at}


def test_default_listing_is_every_task_in_task_id_order(project: dict[str, Any]) -> None:
    tasks, pages = listing(project["api"], project["name"])
    assert pages == 1
    assert [t["TaskId"] for t in tasks] == sorted(project["ids"])
    first = next(t for t in tasks if t["TaskId"] == project["ids"][5])
    assert (first["TaskType"], first["Status"], first["Progress"], first["Code"]) == (
        "OfficeConversion",
        "Succeeded",
        100,
        "",
    )
    assert first["Tags"] == {"batch": "odd", "i": 5} and first["UserData"] == "u5"
    assert first["StartTime"].endswith("Z") and first["EndTime"].endswith("Z")
    assert "TaskRequestDefinition" not in first  # only with RequestDefinition
    running = next(t for t in tasks if t["TaskId"] == project["ids"][0])
    assert (running["Status"], running["EndTime"]) == ("Running", "")
    failed = next(t for t in tasks if t["TaskId"] == project["ids"][9])
    assert (failed["Status"], failed["Code"]) == ("Failed", "InvalidFile")


def test_pages_of_five(project: dict[str, Any]) -> None:
    tasks, pages = listing(project["api"], project["name"], MaxResults=5, Sort="StartTime")
    assert pages == 3
    assert [t["TaskId"] for t in tasks] == project["ids"]  # created in this order


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"Status": "Running"}, [0, 1, 2, 3, 11]),
        ({"Status": "Failed"}, [8, 9, 10]),
        ({"TaskTypes": ["OfficeConversion"], "Status": "Succeeded"}, [4, 5, 6, 7]),
        ({"TaskTypes": ["ImageToPDF"]}, []),
        ({"TagSelector": "batch=even"}, [0, 2, 4, 6, 8, 10]),
        ({"TagSelector": "batch=even,i!=4"}, [0, 2, 6, 8, 10]),
        ({"TagSelector": "i=7"}, [7]),
        ({"TagSelector": "nosuchtag"}, []),
        ({"Status": "Succeeded", "TagSelector": "batch=odd"}, [5, 7]),
    ],
)
def test_filters(project: dict[str, Any], params: dict[str, Any], expected: list[int]) -> None:
    tasks, _ = listing(project["api"], project["name"], Sort="StartTime", MaxResults=2, **params)
    assert [t["TaskId"] for t in tasks] == [project["ids"][i] for i in expected]


def test_sort_by_end_time_both_ways(project: dict[str, Any]) -> None:
    ids = project["ids"]
    finished = [ids[i] for i in range(10, 3, -1)]  # later index finished earlier
    running = [ids[i] for i in (0, 1, 2, 3, 11)]
    api = project["api"]
    asc, _ = listing(api, project["name"], Sort="EndTime", Order="asc", MaxResults=4)
    assert [t["TaskId"] for t in asc] == finished + running
    desc, _ = listing(api, project["name"], Sort="EndTime", Order="DESC", MaxResults=4)
    assert [t["TaskId"] for t in desc] == list(reversed(finished + running))


def test_time_ranges(project: dict[str, Any]) -> None:
    ids = project["ids"]
    api: MemoryApi = project["api"]
    starts = [api.store.get(i).start_ts for i in ids]  # type: ignore[union-attr]
    # Bounds halfway between neighbours (start times are 2 ms apart): which tasks fall inside
    # cannot depend on how a bound rounds (the exact-bound rule has its own unit tests).
    lo, hi = (starts[4] + starts[5]) / 2, (starts[8] + starts[9]) / 2
    tasks, _ = listing(
        api,
        project["name"],
        Sort="StartTime",
        StartTimeRange={"Start": iso_time(lo), "End": iso_time(hi)},
    )
    assert [t["TaskId"] for t in tasks] == ids[5:9]
    at = project["finished_at"]
    # End times are finished_at + 20 - i: i = 10..8 end within [at + 9.5, at + 12.5].
    tasks, _ = listing(
        api,
        project["name"],
        Sort="EndTime",
        EndTimeRange={"Start": iso_time(at + 9.5), "End": iso_time(at + 12.5)},
    )
    assert [t["TaskId"] for t in tasks] == [ids[10], ids[9], ids[8]]


@pytest.mark.parametrize(
    "params",
    [
        {"Sort": "Size"},
        {"Order": "sideways"},
        {"Status": "Queued"},
        {"MaxResults": 101},
        {"TagSelector": "a=1 b=2"},
        {"NextToken": "bm90IGEgdG9rZW4"},
        {"StartTimeRange": {"Start": "yesterday"}},
    ],
)
def test_bad_parameters_are_refused(project: dict[str, Any], params: dict[str, Any]) -> None:
    with pytest.raises(ApiError) as info:
        project["api"].call("ListTasks", ProjectName=project["name"], **params)
    assert (info.value.code, info.value.status) == ("InvalidArgument", 400)


def test_a_token_is_refused_with_other_filters(project: dict[str, Any]) -> None:
    api = project["api"]
    body = api.call("ListTasks", ProjectName=project["name"], MaxResults=2, Status="Running")
    assert body["NextToken"]
    with pytest.raises(ApiError) as info:
        api.call(
            "ListTasks", ProjectName=project["name"], NextToken=body["NextToken"], Status="Failed"
        )
    assert "NextToken" in info.value.message
