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
from imm_engine.api import project_actions, task_actions
from imm_engine.api.delivery_actions import DELIVERY_ACTIONS, delivery_summary
from imm_engine.api.early_pages import written_pages
from imm_engine.api.project_actions import require_project
from imm_engine.api.task_lookup import find_task
from imm_engine.errors import ImmError, service_unavailable
from imm_engine.models import TaskRecord
from imm_engine.params import Params
from imm_engine.queue import TaskQueue
from imm_engine.state.projects import ProjectStore
from imm_engine.state.store import TaskStore
from imm_engine.storage.guarded import check_uris
from imm_engine.tasktypes import BY_ACTION, SubmitContext, TaskTypeSpec
from imm_engine.tasktypes.access import job_uris

log = logging.getLogger("imm_engine.api")


@dataclass(frozen=True)
class Services:
    store: TaskStore
    queue: TaskQueue
    submit: SubmitContext
    projects: ProjectStore
    #: GetTask shows `WrittenPages` (IMM_EARLY_PAGES; imm_engine/api/early_pages.py).
    early_pages: bool = False


Handler = Callable[[Services, Params, str], dict[str, Any]]


def create_task(spec: TaskTypeSpec) -> Handler:
    def handler(services: Services, params: Params, request_id: str) -> dict[str, Any]:
        sub = spec.submission(params, services.submit)
        project = require_project(services, sub.project)
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
            service_role=project.service_role,
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
    rec = find_task(services, params)
    with_definition = params.get_bool("RequestDefinition")
    return {
        "ProjectName": rec.project,
        "EventId": rec.event_id,
        **rec.task_info(with_definition=with_definition),
        **delivery_summary(services, rec),
        **written_pages(services, rec),
    }


ACTIONS: dict[str, Handler] = {
    "GetTask": get_task,
    **{action: create_task(spec) for action, spec in BY_ACTION.items()},
    **project_actions.ACTIONS,
    **task_actions.ACTIONS,
    **DELIVERY_ACTIONS,
}
