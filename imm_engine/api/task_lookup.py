"""Finding the task a request names (ProjectName, TaskType, TaskId), as every task read does."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from imm_engine.api.params import Params
from imm_engine.api.project_actions import require_project
from imm_engine.errors import invalid, not_found
from imm_engine.models import TaskRecord
from imm_engine.tasktypes import BY_TYPE
from imm_engine.tasktypes.base import project_name

if TYPE_CHECKING:
    from imm_engine.api.services import Services

#: The shape of the TaskIds we issue; only such an id is looked up (`<id>:deliveries` names
#: another kind of key).
TASK_ID = re.compile(r"[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9_.-]{1,200}", re.ASCII)


def find_task(services: Services, params: Params) -> TaskRecord:
    """The task, or ResourceNotFound when the project, the type or the id does not match.

    A task of an earlier, deleted project of the same name is not found either.
    """
    project = project_name(params)
    task_type = params.get_str("TaskType", required=True, max_bytes=64) or ""
    task_id = params.get_str("TaskId", required=True, max_bytes=256) or ""
    if task_type not in BY_TYPE:
        raise invalid("TaskType", f"'{task_type}' is not a task type this server runs")
    created = require_project(services, project).create_ts
    rec = services.store.get(task_id) if TASK_ID.fullmatch(task_id) else None
    if (
        rec is None
        or rec.project != project
        or rec.task_type != task_type
        or rec.start_ts < created
    ):
        raise not_found("task", f"No task {task_id} of type {task_type} in project {project}.")
    return rec
