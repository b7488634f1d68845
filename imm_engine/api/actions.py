"""The IMM actions this server answers, each a function of (services, params, request id)."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import redis

from imm_engine import ids
from imm_engine.api import project_actions, task_actions
from imm_engine.api.delivery_actions import DELIVERY_ACTIONS, delivery_summary
from imm_engine.api.early_pages import written_pages
from imm_engine.api.params import Params, refusal
from imm_engine.api.project_actions import require_project
from imm_engine.api.services import Handler, Services
from imm_engine.api.task_lookup import find_task
from imm_engine.errors import ImmError, InvalidValue, service_unavailable
from imm_engine.models import TaskRecord
from imm_engine.state.store import NotDurable
from imm_engine.storage.guarded import check_uris
from imm_engine.tasktypes import BY_ACTION, Submission, TaskType

log = logging.getLogger("imm_engine.api")


def create_task(spec: TaskType[Any]) -> Handler:
    def handler(services: Services, params: Params, request_id: str) -> dict[str, Any]:
        rec = submit_task(services, spec, spec.submission(params, services.submit), request_id)
        return {"TaskId": rec.task_id, "EventId": rec.event_id}

    return handler


def submit_task(
    services: Services,
    spec: TaskType[Any],
    sub: Submission[Any],
    request_id: str,
    *,
    task_id: str | None = None,
) -> TaskRecord:
    """Record and queue a validated submission; every Create*Task (2020 and 2017) ends here.
    Nothing is left behind when the queue cannot take the task."""
    project = require_project(services, sub.project)
    rec = TaskRecord(
        project=sub.project,
        task_type=spec.name,
        task_id=task_id or ids.task_id(spec.name),
        request_id=request_id,
        event_id=ids.event_id(),
        start_ts=time.time(),
        tags=sub.tags,
        user_data=sub.user_data,
        notification=sub.notification,
        job=sub.job.to_record(),
        definition=sub.definition,
        service_role=project.service_role,
    )
    writes = sub.job.writes() + notification_writes(sub.notification)
    check_uris(services.submit.grants, rec.service_role, sub.job.reads(), writes)
    services.store.create(rec)
    try:
        services.queue.submit(spec.name, rec.task_id, spec.queue)
    except Exception as exc:
        log.error("could not queue %s: %s", rec.task_id, exc)
        with contextlib.suppress(ImmError, OSError, redis.RedisError):
            services.store.delete(rec)
        raise service_unavailable("the task queue cannot be reached; nothing was created") from exc
    confirm_durable(services, rec)
    log.info("accepted %s (%s)", rec.task_id, ", ".join(sub.job.reads()[:1]))
    return rec


def notification_writes(notification: dict[str, Any]) -> list[str]:
    """The object a notification writes: its ExtendedMessageURI, if any."""
    ext = notification.get("ExtendedMessageURI")
    return [ext] if isinstance(ext, str) else []


def confirm_durable(services: Services, rec: TaskRecord) -> None:
    """Answer with the TaskId only once the task would survive a failover (IMM_REDIS_WAIT_*)."""
    try:
        services.store.confirm(rec, services.durable_replicas, services.wait_timeout_ms)
    except NotDurable as exc:
        log.warning("%s; answering 503", exc)
        with contextlib.suppress(ImmError, OSError, redis.RedisError):
            services.store.delete(rec)
        raise service_unavailable(
            "the task could not be stored on a replica in time; retry the request"
        ) from exc


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


def answering(handler: Handler) -> Handler:
    """`handler` with the values the pure parsers refuse (InvalidValue) answered as IMM's
    InvalidArgument: the API's edge, the one place the 2020 actions do it."""

    def answer(services: Services, params: Params, request_id: str) -> dict[str, Any]:
        try:
            return handler(services, params, request_id)
        except InvalidValue as err:
            raise refusal(err) from err

    return answer


ACTIONS: dict[str, Handler] = {
    action: answering(handler)
    for action, handler in {
        "GetTask": get_task,
        **{action: create_task(spec) for action, spec in BY_ACTION.items()},
        **project_actions.ACTIONS,
        **task_actions.ACTIONS,
        **DELIVERY_ACTIONS,
    }.items()
}
