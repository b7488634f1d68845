"""The IMM actions this server answers, each a function of (services, params, request id)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from imm_engine import ids
from imm_engine.errors import ImmError, invalid, not_found, service_unavailable
from imm_engine.models import TaskRecord
from imm_engine.params import Params
from imm_engine.queue import TaskQueue
from imm_engine.state.store import TaskStore
from imm_engine.storage.guarded import check_uris
from imm_engine.tasktypes import BY_ACTION, BY_TYPE, SubmitContext, TaskTypeSpec
from imm_engine.tasktypes.access import job_uris
from imm_engine.tasktypes.base import project_name

log = logging.getLogger("imm_engine.api")


@dataclass(frozen=True)
class Services:
    store: TaskStore
    queue: TaskQueue
    submit: SubmitContext


Handler = Callable[[Services, Params, str], dict[str, Any]]


def create_task(spec: TaskTypeSpec) -> Handler:
    def handler(services: Services, params: Params, request_id: str) -> dict[str, Any]:
        sub = spec.submission(params, services.submit)
        rec = TaskRecord(
            project=sub.project,
            task_type=spec.task_type,
            task_id=ids.task_id(spec.task_type),
            request_id=request_id,
            event_id=ids.event_id(),
            start_ts=time.time(),
            tags=sub.tags,
            user_data=sub.user_data,
            notification=sub.notification,
            job=sub.job,
            definition=sub.definition,
        )
        reads, writes = job_uris(sub.job, sub.notification)
        check_uris(services.submit.grants, rec.service_role, reads, writes)
        services.store.create(rec)
        try:
            services.queue.submit(spec.task_type, rec.task_id, spec.queue)
        except Exception as exc:
            log.error("could not queue %s: %s", rec.task_id, exc)
            with contextlib.suppress(ImmError, OSError, redis.RedisError):
                services.store.delete(rec)
            raise service_unavailable(
                "the task queue cannot be reached; nothing was created"
            ) from exc
        log.info("accepted %s (%s)", rec.task_id, sub.job.get("source", ""))
        return {"TaskId": rec.task_id, "EventId": rec.event_id}

    return handler


def get_task(services: Services, params: Params, request_id: str) -> dict[str, Any]:
    project = project_name(params)
    task_type = params.get_str("TaskType", required=True, max_bytes=64) or ""
    task_id = params.get_str("TaskId", required=True, max_bytes=256) or ""
    if task_type not in BY_TYPE:
        raise invalid("TaskType", f"'{task_type}' is not a task type this server runs")
    rec = services.store.get(task_id)
    if rec is None or rec.project != project or rec.task_type != task_type:
        raise not_found("task", f"No task {task_id} of type {task_type} in project {project}.")
    with_definition = params.get_bool("RequestDefinition")
    return {
        "ProjectName": project,
        "EventId": rec.event_id,
        **rec.task_info(with_definition=with_definition),
    }


ACTIONS: dict[str, Handler] = {
    "GetTask": get_task,
    **{action: create_task(spec) for action, spec in BY_ACTION.items()},
}
