"""CreateProject, GetProject, ListProjects, UpdateProject, DeleteProject.

A project must exist before tasks are created in it. Its `ServiceRole` names the storage
grants its tasks run with (each task record carries it). Deleting a project does not stop
its tasks: running tasks finish and notify as usual, but GetTask and ListTasks answer
`ResourceNotFound` for the project; a project created again under the same name starts
empty (it shows only tasks started after its own creation).

Each call is limited to the projects the signing AccessKey is granted, and CreateProject /
UpdateProject to the ServiceRoles it may assign (`services.caller`, storage/key_grants.py):
outside its grant, 403 `Forbidden.RAM`, checked before the project is looked up.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from imm_engine.api.params import Params
from imm_engine.api.project_params import list_projects_query, project_fields
from imm_engine.errors import ApiError, invalid, not_found
from imm_engine.state.projects import Project
from imm_engine.tasktypes import BY_TYPE
from imm_engine.tasktypes.base import project_name

if TYPE_CHECKING:
    from imm_engine.api.services import Services


def already_exists(resource: str, detail: str) -> ApiError:
    return ApiError(
        "ResourceAlreadyExists", f"The specified resource {resource} already exists. {detail}", 409
    )


def require_project(services: Services, name: str) -> Project:
    """The project, if the caller may use it (403 otherwise) and it exists (404 otherwise)."""
    services.caller.check_project(name)
    project = services.projects.get(name)
    if project is None:
        raise not_found("project", f"No project {name}; create it with CreateProject.")
    return project


def checked_fields(services: Services, params: Params) -> dict[str, Any]:
    """The project attributes given, with a ServiceRole the storage configuration defines."""
    fields = project_fields(params)
    role = fields.get("service_role")
    if role is not None:
        services.caller.check_role(role)
    if role is not None and not services.submit.grants.known(role):
        raise invalid(
            "ServiceRole",
            f"the role {role} is not defined in this server's storage configuration "
            '(IMM_STORAGE_CONFIG "roles")',
        )
    return fields


def create_project(services: Services, params: Params, request_id: str) -> dict[str, Any]:
    name = project_name(params)
    services.caller.check_project(name)
    fields = checked_fields(services, params)
    if "service_role" not in fields:  # the default role is assigned like any other
        services.caller.check_role("")
    now = time.time()
    project = Project(name=name, create_ts=now, update_ts=now, **fields)
    if not services.projects.create(project):
        raise already_exists("project", f"A project named {name} exists.")
    return {"Project": project.info()}


def get_project(services: Services, params: Params, request_id: str) -> dict[str, Any]:
    name = project_name(params)
    params.get_bool("WithStatistics")  # validated; there are no datasets, so no statistics
    return {"Project": require_project(services, name).info()}


def update_project(services: Services, params: Params, request_id: str) -> dict[str, Any]:
    name = project_name(params)
    services.caller.check_project(name)
    changes: dict[str, str] = {
        attr: json.dumps(value, ensure_ascii=False) if isinstance(value, list) else str(value)
        for attr, value in checked_fields(services, params).items()
    }
    changes["update_ts"] = repr(time.time())
    if not services.projects.update(name, changes):
        raise not_found("project", f"No project {name}.")
    return {"Project": require_project(services, name).info()}


def delete_project(services: Services, params: Params, request_id: str) -> dict[str, Any]:
    name = project_name(params)
    services.caller.check_project(name)
    if not services.projects.delete(name):
        raise not_found("project", f"No project {name}.")
    services.store.index.drop_project(name, sorted(BY_TYPE))
    return {}


def list_projects(services: Services, params: Params, request_id: str) -> dict[str, Any]:
    query = list_projects_query(params)
    wanted = query.max_results + 1
    found: list[Project] = []
    start, exclusive = query.next_token, False
    chunk = wanted
    while len(found) < wanted:
        names = services.projects.names(query.prefix, start, chunk, exclusive=exclusive)
        if not names:
            break
        found += [
            p
            for p in services.projects.get_many(names)
            if p.has_tags(query.tags) and services.caller.may_use(p.name)
        ]
        if len(names) < chunk:
            break
        start, exclusive = names[-1], True
        chunk = min(chunk * 2, 1000)
    body: dict[str, Any] = {"Projects": [p.info() for p in found[: query.max_results]]}
    if len(found) > query.max_results:
        body["NextToken"] = found[query.max_results].name
    return body


ACTIONS = {
    "CreateProject": create_project,
    "GetProject": get_project,
    "ListProjects": list_projects,
    "UpdateProject": update_project,
    "DeleteProject": delete_project,
}
