"""Projects through the official SDK: CreateProject ... DeleteProject, and tasks needing one."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from alibabacloud_imm20200930 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException

from imm_engine.models import TaskStatus
from imm_engine.state.keys import Keys
from imm_engine.state.store import TaskStore
from tests.support.api_server import REDIS_URL, ApiServer, running
from tests.support.needs import need, redis_available

pytestmark = [pytest.mark.e2e, pytest.mark.redis]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    need(redis_available(REDIS_URL), "Redis on 127.0.0.1:6379")
    env = {
        "IMM_DEFAULT_PROJECTS": "alpha, beta",
        # A role besides the default one, so a project can be created with it and use it.
        "IMM_STORAGE_CONFIG": json.dumps(
            {
                "roles": {
                    "ArchiveRole": {"read": ["*"], "write": ["*"]},
                    "TeamARole": {"read": ["team-a"], "write": ["team-a"]},
                }
            }
        ),
    }
    with running(tmp_path_factory.mktemp("projects"), env) as s:
        yield s


@pytest.fixture(scope="module")
def client(api: ApiServer) -> Any:
    return api.client()


@pytest.fixture(scope="module")
def store(api: ApiServer) -> TaskStore:
    return TaskStore(redis.Redis.from_url(REDIS_URL), Keys(api.prefix), 7 * 86400)


def name(stem: str = "p") -> str:
    return f"{stem}-{uuid.uuid4().hex[:8]}"


def error(call: Any) -> ClientException:
    with pytest.raises(ClientException) as info:
        call()
    assert info.value.request_id and info.value.data["Message"]
    return info.value


def convert(client: Any, project: str) -> str:
    return str(
        client.create_office_conversion_task(
            m.CreateOfficeConversionTaskRequest(
                project_name=project,
                source_uri="oss://bkt/a.docx",
                target_type="pdf",
                target_uri="oss://bkt/out/{barename}.pdf",
            )
        ).body.task_id
    )


def test_create_get_update_delete(client: Any) -> None:
    p = name()
    created = client.create_project(
        m.CreateProjectRequest(
            project_name=p,
            description="documents of team A",
            service_role="TeamARole",
            template_id="Official:ImageManagement",
            dataset_max_bind_count=3,
            project_max_dataset_count=5,
            tag=[m.CreateProjectRequestTag(key="env", value="prod")],
        )
    ).body
    assert created.request_id
    project = created.project
    assert (project.project_name, project.description, project.service_role) == (
        p,
        "documents of team A",
        "TeamARole",
    )
    assert (project.dataset_max_bind_count, project.project_max_dataset_count) == (3, 5)
    assert project.dataset_max_file_count == 100_000_000
    assert project.dataset_max_total_file_size == 90_000_000_000_000_000
    assert (project.project_queries_per_second, project.engine_concurrency) == (100, 100)
    assert [(t.tag_key, t.tag_value) for t in project.tags] == [("env", "prod")]
    assert project.template_id == "Official:ImageManagement"
    assert project.create_time == project.update_time
    assert datetime.fromisoformat(project.create_time.replace("Z", "+00:00")).tzinfo is not None

    got = client.get_project(m.GetProjectRequest(project_name=p, with_statistics=True)).body
    assert got.project.to_map() == project.to_map()

    updated = client.update_project(
        m.UpdateProjectRequest(
            project_name=p,
            description="now team B",
            tag=[m.UpdateProjectRequestTag(key="env", value="dev")],
        )
    ).body.project
    assert updated.description == "now team B"
    assert updated.service_role == "TeamARole"  # not given: unchanged
    assert [(t.tag_key, t.tag_value) for t in updated.tags] == [("env", "dev")]
    assert updated.create_time == project.create_time and updated.update_time > project.update_time
    again = client.get_project(m.GetProjectRequest(project_name=p)).body.project
    assert again.description == "now team B"

    assert client.delete_project(m.DeleteProjectRequest(project_name=p)).body.request_id
    err = error(lambda: client.get_project(m.GetProjectRequest(project_name=p)))
    assert (err.code, err.status_code) == ("ResourceNotFound", 404)
    assert "project" in err.data["Message"]
    err = error(lambda: client.delete_project(m.DeleteProjectRequest(project_name=p)))
    assert err.code == "ResourceNotFound"
    err = error(lambda: client.update_project(m.UpdateProjectRequest(project_name=p)))
    assert err.code == "ResourceNotFound"


def test_a_role_the_storage_configuration_does_not_define_is_refused(client: Any) -> None:
    p = name()
    err = error(
        lambda: client.create_project(
            m.CreateProjectRequest(project_name=p, service_role="NoSuchRole")
        )
    )
    assert (err.code, err.status_code) == ("InvalidArgument", 400)
    assert "NoSuchRole" in err.data["Message"] and "IMM_STORAGE_CONFIG" in err.data["Message"]
    error(lambda: client.get_project(m.GetProjectRequest(project_name=p)))  # not created
    client.create_project(m.CreateProjectRequest(project_name=p, service_role="TeamARole"))
    err = error(
        lambda: client.update_project(
            m.UpdateProjectRequest(project_name=p, service_role="NoSuchRole")
        )
    )
    assert err.code == "InvalidArgument"
    got = client.get_project(m.GetProjectRequest(project_name=p)).body.project
    assert got.service_role == "TeamARole"


def test_defaults_and_duplicates(client: Any) -> None:
    p = name()
    project = client.create_project(m.CreateProjectRequest(project_name=p)).body.project
    assert project.service_role == "AliyunIMMDefaultRole"
    assert project.description == "" and project.tags == []
    err = error(lambda: client.create_project(m.CreateProjectRequest(project_name=p)))
    assert (err.code, err.status_code) == ("ResourceAlreadyExists", 409)
    assert "project" in err.data["Message"]


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"project_name": None}, "MissingProjectName"),
        ({"project_name": "9-starts-with-digit"}, "InvalidArgument"),
        ({"project_name": "-dash"}, "InvalidArgument"),
        ({"project_name": "has.dot"}, "InvalidArgument"),
        ({"project_name": "x" * 129}, "InvalidArgument"),
        ({"project_name": "ok", "description": "d" * 257}, "InvalidArgument"),
        ({"project_name": "ok", "dataset_max_bind_count": 11}, "InvalidArgument"),
        ({"project_name": "ok", "service_role": "bad role"}, "InvalidArgument"),
    ],
)
def test_bad_create_project_is_refused(client: Any, kwargs: dict[str, Any], code: str) -> None:
    err = error(lambda: client.create_project(m.CreateProjectRequest(**kwargs)))
    assert (err.code, err.status_code) == (code, 400)
    with pytest.raises(ClientException):
        client.get_project(m.GetProjectRequest(project_name="ok"))


def test_list_projects_pages_prefix_and_tags(client: Any) -> None:
    stem = f"lst{uuid.uuid4().hex[:6]}"
    names = sorted(f"{stem}-{i}" for i in range(7))
    for i, n in enumerate(names):
        tag = [m.CreateProjectRequestTag(key="parity", value="even" if i % 2 == 0 else "odd")]
        client.create_project(m.CreateProjectRequest(project_name=n, tag=tag))
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        body = client.list_projects(
            m.ListProjectsRequest(prefix=stem, max_results=3, next_token=token)
        ).body
        pages += 1
        seen += [p.project_name for p in body.projects]
        token = body.next_token
        if not token:
            break
    assert (seen, pages) == (names, 3)
    evens = client.list_projects(
        m.ListProjectsRequest(
            prefix=stem, tag=[m.ListProjectsRequestTag(key="parity", value="even")], max_results=2
        )
    ).body
    assert [p.project_name for p in evens.projects] == names[0:4:2]
    assert evens.next_token == names[4]
    everything = client.list_projects(m.ListProjectsRequest(max_results=200)).body
    listed = {p.project_name for p in everything.projects}
    assert set(names) <= listed and {"alpha", "beta"} <= listed  # IMM_DEFAULT_PROJECTS
    none = client.list_projects(m.ListProjectsRequest(prefix="nosuchprefix")).body
    assert none.projects == [] and not none.next_token


def test_tasks_need_an_existing_project(client: Any, api: ApiServer, store: TaskStore) -> None:
    before = set(store.r.scan_iter(f"{api.prefix}:task:*"))
    err = error(lambda: convert(client, name("missing")))
    assert (err.code, err.status_code) == ("ResourceNotFound", 404)
    assert "project" in err.data["Message"] and "CreateProject" in err.data["Message"]
    assert set(store.r.scan_iter(f"{api.prefix}:task:*")) == before, "nothing was created"
    for call in (
        lambda: client.get_task(
            m.GetTaskRequest(project_name="missing", task_type="OfficeConversion", task_id="x")
        ),
        lambda: client.list_tasks(m.ListTasksRequest(project_name="missing")),
    ):
        err = error(call)
        assert err.code == "ResourceNotFound" and "project" in err.data["Message"]


def test_task_carries_the_projects_service_role(client: Any, store: TaskStore) -> None:
    p = name()
    client.create_project(m.CreateProjectRequest(project_name=p, service_role="ArchiveRole"))
    task_id = convert(client, p)
    rec = store.get(task_id)
    assert rec is not None and rec.service_role == "ArchiveRole"
    default = name()
    client.create_project(m.CreateProjectRequest(project_name=default))
    rec = store.get(convert(client, default))
    assert rec is not None and rec.service_role == "AliyunIMMDefaultRole"


def test_deleting_a_project_leaves_its_tasks_running_but_hides_them(
    client: Any, store: TaskStore
) -> None:
    p = name()
    client.create_project(m.CreateProjectRequest(project_name=p))
    task_id = convert(client, p)
    client.delete_project(m.DeleteProjectRequest(project_name=p))
    rec = store.get(task_id)
    assert rec is not None and rec.status == "Running", "the task goes on"
    get = m.GetTaskRequest(project_name=p, task_type="OfficeConversion", task_id=task_id)
    assert error(lambda: client.get_task(get)).code == "ResourceNotFound"
    # The worker can still finish it (and notify).
    assert store.finish(rec, TaskStatus.SUCCEEDED)
    # A new project of the same name starts empty.
    client.create_project(m.CreateProjectRequest(project_name=p))
    assert error(lambda: client.get_task(get)).code == "ResourceNotFound"
    assert client.list_tasks(m.ListTasksRequest(project_name=p)).body.tasks == []
    new_id = convert(client, p)
    listed = client.list_tasks(m.ListTasksRequest(project_name=p)).body.tasks
    assert [t.task_id for t in listed] == [new_id]


def test_default_projects_exist_at_start(client: Any) -> None:
    for p in ("alpha", "beta"):
        project = client.get_project(m.GetProjectRequest(project_name=p)).body.project
        assert project.project_name == p


def test_a_bad_default_project_name_stops_the_api(tmp_path: Path) -> None:
    server = ApiServer(tmp_path, {"IMM_DEFAULT_PROJECTS": "ok,9bad"})
    with pytest.raises(RuntimeError) as info:
        server.start(timeout=30)
    assert "IMM_DEFAULT_PROJECTS" in str(info.value) and "9bad" in str(info.value)
