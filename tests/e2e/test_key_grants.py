"""AccessKeys have boundaries (issue 11.3, 11.5), through the official SDK against `imm-engine api`.

Two tenants: key A (`test-ak`) may use the projects `team-a*` and assign `TeamARole`
(bucket `team-a`); key B the projects `team-b*` and `TeamBRole` (bucket `team-b`). Neither
may touch the other's projects, assign the other's role, or see the other's tasks.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from alibabacloud_imm20200930 import models as m
from alibabacloud_imm20200930.client import Client
from alibabacloud_tea_openapi import utils_models as om
from alibabacloud_tea_openapi.exceptions import ClientException
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkimm.request.v20170906.DeleteProjectRequest import DeleteProjectRequest
from aliyunsdkimm.request.v20170906.GetOfficeConversionTaskRequest import (
    GetOfficeConversionTaskRequest,
)
from aliyunsdkimm.request.v20170906.GetProjectRequest import GetProjectRequest
from aliyunsdkimm.request.v20170906.ListProjectsRequest import ListProjectsRequest
from aliyunsdkimm.request.v20170906.PutProjectRequest import PutProjectRequest

from tests.support.api_server import REDIS_URL, ApiServer, running
from tests.support.needs import need, redis_available
from tests.support.service import ACCESS_KEY_ID, raw_call, signed_headers
from tests.support.signing import raw_query, sign_rpc

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

KEY_B, SECRET_B = "key-b", "secret-b"
CONFIG = {
    "roles": {
        "TeamARole": {"read": ["team-a"], "write": ["team-a"]},
        "TeamBRole": {"read": ["team-b"], "write": ["team-b"]},
    },
    "keys": {
        ACCESS_KEY_ID: {"projects": ["team-a*"], "roles": ["TeamARole"]},
        KEY_B: {"projects": ["team-b*"], "roles": ["TeamBRole"]},
    },
}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    need(redis_available(REDIS_URL), "Redis on 127.0.0.1:6379")
    env = {
        "IMM_ACCESS_KEYS": f"{KEY_B}:{SECRET_B}",
        "IMM_STORAGE_CONFIG": json.dumps(CONFIG),
    }
    with running(tmp_path_factory.mktemp("keys"), env) as s:
        yield s


@pytest.fixture(scope="module")
def a(api: ApiServer) -> Client:
    return api.client()


@pytest.fixture(scope="module")
def b(api: ApiServer) -> Client:
    return Client(
        om.Config(
            access_key_id=KEY_B,
            access_key_secret=SECRET_B,
            endpoint=f"127.0.0.1:{api.port}",
            protocol="http",
            read_timeout=60000,
        )
    )


def name(team: str) -> str:
    return f"team-{team}-{uuid.uuid4().hex[:8]}"


def forbidden(call: Callable[[], Any], *fragments: str) -> None:
    with pytest.raises(ClientException) as info:
        call()
    err = info.value
    assert (err.status_code, err.code) == (403, "Forbidden.RAM"), err.data
    assert all(f in err.data["Message"] for f in fragments), err.data["Message"]


def code_of(call: Callable[[], Any]) -> tuple[int, str]:
    with pytest.raises(ClientException) as info:
        call()
    return info.value.status_code, info.value.code


def convert(client: Client, project: str, bucket: str) -> str:
    return str(
        client.create_office_conversion_task(
            m.CreateOfficeConversionTaskRequest(
                project_name=project,
                source_uri=f"oss://{bucket}/a.docx",
                target_type="pdf",
                target_uri=f"oss://{bucket}/out/{{barename}}.pdf",
            )
        ).body.task_id
    )


@pytest.fixture(scope="module")
def project_a(a: Client) -> str:
    p = name("a")
    a.create_project(m.CreateProjectRequest(project_name=p, service_role="TeamARole"))
    return p


@pytest.fixture(scope="module")
def project_b(b: Client) -> str:
    p = name("b")
    b.create_project(m.CreateProjectRequest(project_name=p, service_role="TeamBRole"))
    return p


def role_of(client: Client, project: str) -> str:
    return str(
        client.get_project(m.GetProjectRequest(project_name=project)).body.project.service_role
    )


def test_b_cannot_change_the_project_of_a_or_its_role(a: Client, b: Client, project_a: str) -> None:
    for request in (
        m.UpdateProjectRequest(project_name=project_a, service_role="TeamBRole"),
        m.UpdateProjectRequest(project_name=project_a, service_role="TeamARole"),
        m.UpdateProjectRequest(project_name=project_a, description="mine now"),
    ):
        forbidden(lambda r=request: b.update_project(r), KEY_B, project_a)
    got = a.get_project(m.GetProjectRequest(project_name=project_a)).body.project
    assert (got.service_role, got.description) == ("TeamARole", "")
    forbidden(lambda: b.delete_project(m.DeleteProjectRequest(project_name=project_a)))
    forbidden(lambda: b.get_project(m.GetProjectRequest(project_name=project_a)))
    assert role_of(a, project_a) == "TeamARole", "still there"


def test_b_cannot_give_its_project_the_role_of_a(b: Client, project_b: str) -> None:
    forbidden(
        lambda: b.update_project(
            m.UpdateProjectRequest(project_name=project_b, service_role="TeamARole")
        ),
        KEY_B,
        "TeamARole",
    )
    assert role_of(b, project_b) == "TeamBRole"
    # Within its grant, B may still change its project.
    b.update_project(m.UpdateProjectRequest(project_name=project_b, description="B's"))


@pytest.mark.parametrize(
    ("project", "role", "refused_for"),
    [
        pytest.param("b", "TeamARole", "TeamARole", id="other-teams-role"),
        pytest.param("b", None, "AliyunIMMDefaultRole", id="default-role-not-granted"),
        pytest.param("a", "TeamBRole", "team-a-", id="other-teams-project-name"),
    ],
)
def test_b_cannot_create_a_project_outside_its_grant(
    b: Client, project: str, role: str | None, refused_for: str
) -> None:
    p = name(project)
    forbidden(
        lambda: b.create_project(m.CreateProjectRequest(project_name=p, service_role=role)),
        refused_for,
    )
    if project == "b":  # within B's names: the project was not created
        assert code_of(lambda: b.get_project(m.GetProjectRequest(project_name=p))) == (
            404,
            "ResourceNotFound",
        )


def test_a_project_outside_the_grant_is_403_whether_or_not_it_exists(b: Client) -> None:
    ghost = name("a")
    forbidden(lambda: b.get_project(m.GetProjectRequest(project_name=ghost)))
    forbidden(lambda: b.delete_project(m.DeleteProjectRequest(project_name=ghost)))
    forbidden(lambda: b.list_tasks(m.ListTasksRequest(project_name=ghost)))


def test_list_projects_shows_only_the_keys_projects(
    a: Client, b: Client, project_a: str, project_b: str
) -> None:
    seen_a = {
        p.project_name
        for p in a.list_projects(m.ListProjectsRequest(max_results=200)).body.projects
    }
    seen_b = {
        p.project_name
        for p in b.list_projects(m.ListProjectsRequest(max_results=200)).body.projects
    }
    assert project_a in seen_a and project_b not in seen_a
    assert project_b in seen_b and project_a not in seen_b
    assert all(n.startswith("team-a") for n in seen_a)
    assert all(n.startswith("team-b") for n in seen_b)
    prefixed = b.list_projects(m.ListProjectsRequest(prefix="team-a")).body
    assert prefixed.projects == [] and not prefixed.next_token


def test_b_cannot_see_get_replay_or_list_the_tasks_of_a(
    api: ApiServer, a: Client, b: Client, project_a: str, project_b: str
) -> None:
    task_id = convert(a, project_a, "team-a")
    get = m.GetTaskRequest(project_name=project_a, task_type="OfficeConversion", task_id=task_id)
    assert a.get_task(get).body.task_id == task_id
    forbidden(lambda: b.get_task(get), project_a)
    forbidden(lambda: b.list_tasks(m.ListTasksRequest(project_name=project_a)))
    # Naming its own project does not reach A's task either.
    own = m.GetTaskRequest(project_name=project_b, task_type="OfficeConversion", task_id=task_id)
    assert code_of(lambda: b.get_task(own)) == (404, "ResourceNotFound")
    assert b.list_tasks(m.ListTasksRequest(project_name=project_b)).body.tasks == []
    # The delivery extensions (raw signed calls: the SDK has no method for them).
    query = {"ProjectName": project_a, "TaskType": "OfficeConversion", "TaskId": task_id}
    for action in ("ListTaskDeliveries", "ReplayTaskNotification"):
        headers = signed_headers(api.port, action, query, key_id=KEY_B, secret=SECRET_B)
        response = raw_call(api.port, query, headers)
        assert (response.status_code, response.json()["Code"]) == (403, "Forbidden.RAM")
    headers = signed_headers(api.port, "ListTaskDeliveries", query)
    assert raw_call(api.port, query, headers).status_code == 200, "A still may"
    # Nor can B run tasks in A's project.
    forbidden(lambda: convert(b, project_a, "team-b"))
    listed = a.list_tasks(m.ListTasksRequest(project_name=project_a)).body.tasks
    assert [t.task_id for t in listed] == [task_id]


def test_the_roles_bucket_refusal_still_holds(b: Client, project_b: str) -> None:
    """Within its grant, the project's ServiceRole still limits the buckets (AccessDenied)."""
    with pytest.raises(ClientException) as info:
        convert(b, project_b, "team-a")
    assert (info.value.status_code, info.value.code) == (403, "AccessDenied")
    assert "TeamBRole" in info.value.data["Message"]
    assert convert(b, project_b, "team-b")


def test_several_keys_without_grants_stop_the_api(tmp_path: Any) -> None:
    server = ApiServer(tmp_path, {"IMM_ACCESS_KEYS": f"{KEY_B}:{SECRET_B}"})
    with pytest.raises(RuntimeError) as info:
        server.start(timeout=30)
    assert "have no grant" in str(info.value) and KEY_B in str(info.value)


# --- 11.5: the classic RPC signature covers Action and Version, not the x-acs-* headers --------


def rpc(
    api: ApiServer, pairs: list[tuple[str, str]], headers: dict[str, str], **kw: Any
) -> httpx.Response:
    signed = sign_rpc(pairs, key_id=KEY_B, secret=SECRET_B, **kw)
    url = f"http://127.0.0.1:{api.port}/?{raw_query(signed).decode()}"
    return httpx.post(url, headers=headers, timeout=10)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param({"x-acs-action": "DeleteProject"}, id="action"),
        pytest.param({"x-acs-version": "2017-09-06"}, id="version"),
        pytest.param({"x-acs-action": "DeleteProject", "x-acs-version": "2020-09-30"},
                     id="action-with-matching-version"),
    ],
)  # fmt: skip
def test_an_unsigned_header_cannot_change_an_rpc_call(
    api: ApiServer, b: Client, header: dict[str, str]
) -> None:
    p = name("b")
    b.create_project(m.CreateProjectRequest(project_name=p, service_role="TeamBRole"))
    response = rpc(api, [("ProjectName", p)], header, action="GetProject")
    body = response.json()
    assert (response.status_code, body["Code"]) == (400, "SignatureDoesNotMatch"), body
    assert body["RequestId"] and "not covered" in body["Message"]
    assert role_of(b, p) == "TeamBRole", "the project was not deleted"
    # The same signed call with matching (or no) headers is answered.
    ok = rpc(api, [("ProjectName", p)], {"x-acs-action": "GetProject"}, action="GetProject")
    assert ok.status_code == 200 and ok.json()["Project"]["ProjectName"] == p
    assert rpc(api, [("ProjectName", p)], {}, action="DeleteProject").status_code == 200
    assert code_of(lambda: b.get_project(m.GetProjectRequest(project_name=p)))[1] == (
        "ResourceNotFound"
    )


def test_rpc_calls_are_bounded_by_the_keys_grant_too(api: ApiServer, project_a: str) -> None:
    response = rpc(api, [("ProjectName", project_a)], {}, action="DeleteProject")
    assert (response.status_code, response.json()["Code"]) == (403, "Forbidden.RAM")


def test_the_2017_api_is_bounded_by_the_same_grants(
    api: ApiServer, a: Client, project_a: str, project_b: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Key B through the unchanged 2017 SDK (aliyun-python-sdk-imm): A's project is 403 for
    every action, B's own works, and ListProjects shows only B's projects."""
    for proxy in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ):
        monkeypatch.delenv(proxy, raising=False)
    old = AcsClient(KEY_B, SECRET_B, "cn-hangzhou")
    old.add_endpoint("cn-hangzhou", "imm", f"127.0.0.1:{api.port}")
    task_a = convert(a, project_a, "team-a")

    def call(request: Any) -> dict[str, Any]:
        return dict(json.loads(old.do_action_with_exception(request)))

    def refused(request: Any) -> None:
        with pytest.raises(ServerException) as info:
            call(request)
        assert (info.value.http_status, info.value.error_code) == (403, "Forbidden.RAM")

    get, put, listing = GetProjectRequest(), PutProjectRequest(), ListProjectsRequest()
    get.set_Project(project_a)
    refused(get)
    put.set_Project(name("a"))
    refused(put)
    task = GetOfficeConversionTaskRequest()
    task.set_Project(project_a)
    task.set_TaskId(task_a)
    refused(task)
    delete = DeleteProjectRequest()
    delete.set_Project(project_a)
    refused(delete)
    assert role_of(a, project_a) == "TeamARole", "A's project is still there"
    get.set_Project(project_b)
    assert call(get)["Project"] == project_b
    listing.set_MaxKeys(100)
    names = {p["Project"] for p in call(listing)["Projects"]}
    assert project_b in names and not any(n.startswith("team-a") for n in names)
