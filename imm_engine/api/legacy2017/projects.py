"""PutProject, GetProject, ListProjects, UpdateProject, DeleteProject of IMM 2017-09-06.

Each calls the 2020 action of the same meaning (CreateProject, GetProject, ...), so both
versions see one namespace of projects and the same checks; the 2017 attributes (`Type`,
`CU`, `BillingType`) are stored on the project and shown in the 2017 project object.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from imm_engine.api import project_actions
from imm_engine.api.legacy2017.context import (
    Handler,
    Request2017,
    answering_2017,
    project_not_found,
    translate_error,
)
from imm_engine.api.params import Params
from imm_engine.errors import ApiError
from imm_engine.state.projects import DEFAULT_SERVICE_ROLE, Project

if TYPE_CHECKING:
    from imm_engine.api.services import Services

#: 2017 project names: a letter, then letters, digits and '-', at most 50; not `ALL`.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,49}", re.ASCII)
_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9]{0,31}", re.ASCII)
DEFAULT_TYPE = "DocStarter"
DEFAULT_BILLING = "ByUsage"
MAX_KEYS = 100


def time_2017(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def project_object(project: Project, req: Request2017) -> dict[str, Any]:
    # PutProject without a ServiceRole answers "" (tasks run with the default role) until a
    # role is set, by either API.
    unset = project.legacy_role == "" and project.service_role == DEFAULT_SERVICE_ROLE
    role = "" if unset else project.service_role
    body: dict[str, Any] = {
        "Project": project.name,
        "Type": project.legacy_type or DEFAULT_TYPE,
        "CU": project.legacy_cu,
        "BillingType": project.legacy_billing or DEFAULT_BILLING,
        "ServiceRole": role,
        "Endpoint": req.host,
        "CreateTime": time_2017(project.create_ts),
        "ModifyTime": time_2017(project.update_ts),
    }
    if req.region:
        body["RegionId"] = req.region
    return body


def invalid_name() -> ApiError:
    return ApiError(
        "InvalidParameter.Project",
        "The input parameter Project is not valid. Only (a ~ z. A ~ Z. 0 ~ 9. -) allowed and "
        "start with a letter. less than 50 chars",
        400,
    )


def as_2020(params: Params, **extra: str) -> Params:
    """The 2020 parameters: ProjectName for Project, plus `extra`."""
    pairs = [("ProjectName", params.raw("Project") or "")]
    return Params(pairs + [(k, v) for k, v in extra.items()])


def _reload(services: Services, name: str) -> Project:
    project = services.projects.get(name)
    if project is None:  # deleted in between
        raise project_not_found()
    return project


def put_project(services: Services, params: Params, req: Request2017) -> dict[str, Any]:
    name = params.get_str("Project", required=True, max_bytes=64) or ""
    if not _NAME.fullmatch(name) or name.upper() == "ALL":
        raise invalid_name()
    role = params.get_str("ServiceRole", max_bytes=256)
    kind = params.raw("Type") or ""
    cu = params.get_int("CU", lo=0, hi=100_000)
    billing = params.get_str("BillingType", max_bytes=32) or DEFAULT_BILLING
    extra = {"ServiceRole": role} if role else {}
    project_actions.create_project(services, as_2020(params, **extra), req.request_id)
    services.projects.update(
        name,
        {
            "legacy_type": kind if _TYPE.fullmatch(kind) else DEFAULT_TYPE,
            "legacy_cu": str(1 if cu is None else cu),
            "legacy_billing": billing,
            "legacy_role": role or "",
        },
    )
    return project_object(_reload(services, name), req)


def get_project(services: Services, params: Params, req: Request2017) -> dict[str, Any]:
    params.get_str("Project", required=True)
    answer = project_actions.get_project(services, as_2020(params), req.request_id)
    return project_object(_reload(services, answer["Project"]["ProjectName"]), req)


def list_projects(services: Services, params: Params, req: Request2017) -> dict[str, Any]:
    try:
        max_keys = params.get_int("MaxKeys", lo=1, hi=MAX_KEYS)
    except ApiError:
        raise ApiError("InvalidMaxKeys", "Specified parameter MaxKeys is not valid.", 400) from None
    wanted = [("MaxResults", str(max_keys or MAX_KEYS))]
    marker = params.get_str("Marker", max_bytes=256)
    if marker:
        wanted.append(("NextToken", marker))  # inclusive: the first name of the page
    answer = project_actions.list_projects(services, Params(wanted), req.request_id)
    names = [p["ProjectName"] for p in answer["Projects"]]
    body: dict[str, Any] = {
        "Projects": [project_object(p, req) for p in services.projects.get_many(names)],
    }
    if answer.get("NextToken"):
        body["NextMarker"] = answer["NextToken"]
    return body


def update_project(services: Services, params: Params, req: Request2017) -> dict[str, Any]:
    params.get_str("Project", required=True)
    if params.get_str("NewCU") is None and params.get_str("NewServiceRole") is None:
        raise ApiError(
            "InvalidParameter", "The resource Paramater is not valid. Please check.", 400
        )
    try:
        cu = params.get_int("NewCU", lo=0, hi=10)
    except ApiError:
        raise ApiError(
            "InvalidParameter.NewCU", "The input parameter NewCU is not valid: use 0 to 10.", 400
        ) from None
    role = params.get_str("NewServiceRole", max_bytes=256)
    extra = {"ServiceRole": role} if role else {}
    answer = project_actions.update_project(services, as_2020(params, **extra), req.request_id)
    name = answer["Project"]["ProjectName"]
    changes: dict[str, str] = {"update_ts": repr(time.time())}
    if cu is not None:
        changes["legacy_cu"] = str(cu)
    if role:
        changes["legacy_role"] = role  # set: shown from now on, even the default one
    services.projects.update(name, changes)
    return project_object(_reload(services, name), req)


def delete_project(services: Services, params: Params, req: Request2017) -> dict[str, Any]:
    """Succeeds whether or not the project exists (or has a valid name), as IMM 2017 does."""
    try:
        project_actions.delete_project(services, as_2020(params), req.request_id)
    except ApiError as err:
        if err.code not in ("ResourceNotFound", "InvalidArgument", "MissingProjectName"):
            raise translate_error(err) from err
    return {}


ACTIONS: dict[str, Handler] = {
    "PutProject": answering_2017(put_project),
    "GetProject": answering_2017(get_project),
    "ListProjects": answering_2017(list_projects),
    "UpdateProject": answering_2017(update_project),
    "DeleteProject": answering_2017(delete_project),
}
