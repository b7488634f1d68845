"""The project actions (CreateProject ... DeleteProject, ListProjects) and tasks needing a
project, on the in-memory stores (tests/support/memory_state.py).
tests/e2e/test_projects.py drives the same through the SDK: the Project structure as the SDK
reads it, and IMM_DEFAULT_PROJECTS."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from imm_engine.api.app import default_project
from imm_engine.errors import ApiError
from imm_engine.models import TaskStatus
from imm_engine.storage.grants import parse_grants
from tests.support.api_services import MemoryApi


@pytest.fixture()
def api() -> MemoryApi:
    """A role besides the default one, so a project can be created with it and use it; the
    projects the endpoint creates from IMM_DEFAULT_PROJECTS."""
    grants = parse_grants(
        {
            "ArchiveRole": {"read": ["*"], "write": ["*"]},
            "TeamARole": {"read": ["team-a"], "write": ["team-a"]},
        }
    )
    memory = MemoryApi(grants=grants)
    for name in ("alpha", "beta"):
        memory.projects.create(default_project(name))
    return memory


def name(stem: str = "p") -> str:
    return f"{stem}-{uuid.uuid4().hex[:8]}"


def error(call: Callable[[], Any]) -> ApiError:
    with pytest.raises(ApiError) as info:
        call()
    assert info.value.message
    return info.value


def convert(api: MemoryApi, project: str) -> str:
    return str(
        api.call(
            "CreateOfficeConversionTask",
            ProjectName=project,
            SourceURI="oss://bkt/a.docx",
            TargetType="pdf",
            TargetURI="oss://bkt/out/{barename}.pdf",
        )["TaskId"]
    )


def test_a_role_the_storage_configuration_does_not_define_is_refused(api: MemoryApi) -> None:
    p = name()
    err = error(lambda: api.call("CreateProject", ProjectName=p, ServiceRole="NoSuchRole"))
    assert (err.code, err.status) == ("InvalidArgument", 400)
    assert "NoSuchRole" in err.message and "IMM_STORAGE_CONFIG" in err.message
    error(lambda: api.call("GetProject", ProjectName=p))  # not created
    api.call("CreateProject", ProjectName=p, ServiceRole="TeamARole")
    err = error(lambda: api.call("UpdateProject", ProjectName=p, ServiceRole="NoSuchRole"))
    assert err.code == "InvalidArgument"
    got = api.call("GetProject", ProjectName=p)["Project"]
    assert got["ServiceRole"] == "TeamARole"


def test_defaults_and_duplicates(api: MemoryApi) -> None:
    p = name()
    project = api.call("CreateProject", ProjectName=p)["Project"]
    assert project["ServiceRole"] == "AliyunIMMDefaultRole"
    assert project["Description"] == "" and project["Tags"] == []
    err = error(lambda: api.call("CreateProject", ProjectName=p))
    assert (err.code, err.status) == ("ResourceAlreadyExists", 409)
    assert "project" in err.message


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"ProjectName": None}, "MissingProjectName"),
        ({"ProjectName": "9-starts-with-digit"}, "InvalidArgument"),
        ({"ProjectName": "-dash"}, "InvalidArgument"),
        ({"ProjectName": "has.dot"}, "InvalidArgument"),
        ({"ProjectName": "x" * 129}, "InvalidArgument"),
        ({"ProjectName": "ok", "Description": "d" * 257}, "InvalidArgument"),
        ({"ProjectName": "ok", "DatasetMaxBindCount": 11}, "InvalidArgument"),
        ({"ProjectName": "ok", "ServiceRole": "bad role"}, "InvalidArgument"),
    ],
)
def test_bad_create_project_is_refused(api: MemoryApi, params: dict[str, Any], code: str) -> None:
    err = error(lambda: api.call("CreateProject", **params))
    assert (err.code, err.status) == (code, 400)
    with pytest.raises(ApiError):
        api.call("GetProject", ProjectName="ok")


def test_list_projects_pages_prefix_and_tags(api: MemoryApi) -> None:
    stem = f"lst{uuid.uuid4().hex[:6]}"
    names = sorted(f"{stem}-{i}" for i in range(7))
    for i, n in enumerate(names):
        tag = [{"Key": "parity", "Value": "even" if i % 2 == 0 else "odd"}]
        api.call("CreateProject", ProjectName=n, Tag=tag)
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        body = api.call("ListProjects", Prefix=stem, MaxResults=3, NextToken=token)
        pages += 1
        seen += [p["ProjectName"] for p in body["Projects"]]
        token = body.get("NextToken")
        if not token:
            break
    assert (seen, pages) == (names, 3)
    evens = api.call(
        "ListProjects", Prefix=stem, Tag=[{"Key": "parity", "Value": "even"}], MaxResults=2
    )
    assert [p["ProjectName"] for p in evens["Projects"]] == names[0:4:2]
    assert evens["NextToken"] == names[4]
    everything = api.call("ListProjects", MaxResults=200)
    listed = {p["ProjectName"] for p in everything["Projects"]}
    assert set(names) <= listed and {"alpha", "beta"} <= listed  # IMM_DEFAULT_PROJECTS
    none = api.call("ListProjects", Prefix="nosuchprefix")
    assert none["Projects"] == [] and not none.get("NextToken")


def test_tasks_need_an_existing_project(api: MemoryApi) -> None:
    err = error(lambda: convert(api, name("missing")))
    assert (err.code, err.status) == ("ResourceNotFound", 404)
    assert "project" in err.message and "CreateProject" in err.message
    assert (api.store.task_ids(), api.queue.submitted) == ([], []), "nothing was created"
    for call in (
        lambda: api.call("GetTask", ProjectName="missing", TaskType="OfficeConversion", TaskId="x"),
        lambda: api.call("ListTasks", ProjectName="missing"),
    ):
        err = error(call)
        assert err.code == "ResourceNotFound" and "project" in err.message


def test_task_carries_the_projects_service_role(api: MemoryApi) -> None:
    p = name()
    api.call("CreateProject", ProjectName=p, ServiceRole="ArchiveRole")
    task_id = convert(api, p)
    rec = api.store.get(task_id)
    assert rec is not None and rec.service_role == "ArchiveRole"
    default = name()
    api.call("CreateProject", ProjectName=default)
    rec = api.store.get(convert(api, default))
    assert rec is not None and rec.service_role == "AliyunIMMDefaultRole"


def test_deleting_a_project_leaves_its_tasks_running_but_hides_them(api: MemoryApi) -> None:
    p = name()
    api.call("CreateProject", ProjectName=p)
    task_id = convert(api, p)
    api.call("DeleteProject", ProjectName=p)
    rec = api.store.get(task_id)
    assert rec is not None and rec.status == "Running", "the task goes on"
    get = {"ProjectName": p, "TaskType": "OfficeConversion", "TaskId": task_id}
    assert error(lambda: api.call("GetTask", **get)).code == "ResourceNotFound"
    # The worker can still finish it (and notify).
    assert api.store.finish(rec, TaskStatus.SUCCEEDED)
    # A new project of the same name starts empty.
    api.call("CreateProject", ProjectName=p)
    assert error(lambda: api.call("GetTask", **get)).code == "ResourceNotFound"
    assert api.call("ListTasks", ProjectName=p)["Tasks"] == []
    new_id = convert(api, p)
    listed = api.call("ListTasks", ProjectName=p)["Tasks"]
    assert [t["TaskId"] for t in listed] == [new_id]
