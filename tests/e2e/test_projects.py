"""Projects through the official SDK: the Project structure as the SDK reads it through
CreateProject ... DeleteProject, and IMM_DEFAULT_PROJECTS. The actions' other rules (roles,
duplicates, refused names, ListProjects paging, tasks needing a project) are unit tests on the
in-memory stores (tests/unit/test_project_actions.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_imm20200930 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException

from tests.support.api_server import REDIS_URL, ApiServer, running
from tests.support.needs import need, redis_available

pytestmark = [pytest.mark.e2e, pytest.mark.redis]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    need(redis_available(REDIS_URL), "Redis on 127.0.0.1:6379")
    env = {
        "IMM_DEFAULT_PROJECTS": "alpha, beta",
        # A role besides the default one, so a project can be created with it.
        "IMM_STORAGE_CONFIG": json.dumps(
            {"roles": {"TeamARole": {"read": ["team-a"], "write": ["team-a"]}}}
        ),
    }
    with running(tmp_path_factory.mktemp("projects"), env) as s:
        yield s


@pytest.fixture(scope="module")
def client(api: ApiServer) -> Any:
    return api.client()


def name(stem: str = "p") -> str:
    return f"{stem}-{uuid.uuid4().hex[:8]}"


def error(call: Any) -> ClientException:
    with pytest.raises(ClientException) as info:
        call()
    assert info.value.request_id and info.value.data["Message"]
    return info.value


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


def test_default_projects_exist_at_start(client: Any) -> None:
    for p in ("alpha", "beta"):
        project = client.get_project(m.GetProjectRequest(project_name=p)).body.project
        assert project.project_name == p


def test_a_bad_default_project_name_stops_the_api(tmp_path: Path) -> None:
    server = ApiServer(tmp_path, {"IMM_DEFAULT_PROJECTS": "ok,9bad"})
    with pytest.raises(RuntimeError) as info:
        server.start(timeout=30)
    assert "IMM_DEFAULT_PROJECTS" in str(info.value) and "9bad" in str(info.value)
