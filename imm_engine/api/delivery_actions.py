"""imm-engine extensions (not IMM actions): a task's notification delivery log, and replaying
its completion event. Signed like every action; see docs/notifications.md.

- `ListTaskDeliveries` (ProjectName, TaskType, TaskId): every delivery attempt of the task's
  event, and where each destination stands.
- `ReplayTaskNotification` (ProjectName, TaskType, TaskId, optional Destination): send the
  task's completion event again, same EventId and body, to all its destinations or one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imm_engine.api.params import Params
from imm_engine.api.services import redis_store
from imm_engine.api.task_lookup import find_task
from imm_engine.errors import ApiError, invalid, not_found
from imm_engine.models import TaskRecord
from imm_engine.notify import delivery_log, replay
from imm_engine.state.decode import text

if TYPE_CHECKING:
    from imm_engine.api.services import Services


def _destinations(services: Services, rec: TaskRecord) -> list[str]:
    return [d.name for d in services.submit.routes.destinations(rec.notification)]


def _entries(services: Services, task_id: str) -> list[dict[str, Any]]:
    return delivery_log.parse(services.store.deliveries(task_id))


def list_task_deliveries(services: Services, params: Params, request_id: str) -> dict[str, Any]:
    rec = find_task(services, params)
    entries = _entries(services, rec.task_id)
    summaries = delivery_log.per_destination(entries, _destinations(services, rec))
    return {
        "ProjectName": rec.project,
        "TaskType": rec.task_type,
        "TaskId": rec.task_id,
        "EventId": rec.event_id,
        "Status": rec.status,
        "DeliveryState": delivery_log.overall(summaries) if summaries else "",
        "Destinations": summaries,
        "Deliveries": entries,
    }


def replay_task_notification(services: Services, params: Params, request_id: str) -> dict[str, Any]:
    rec = find_task(services, params)
    wanted = params.get_str("Destination", max_bytes=256)
    if not rec.finished:
        raise ApiError(
            "InvalidStatus.TaskRunning",
            f"The task {rec.task_id} is still Running: it has no completion event yet.",
            400,
        )
    configured = _destinations(services, rec)
    if not configured:
        raise not_found(
            "notification", f"The task {rec.task_id} has no configured notification destination."
        )
    if wanted and wanted not in configured:
        raise invalid("Destination", f"use one of the task's destinations: {configured}")
    store = redis_store(services)
    body = store.r.get(store.keys.task_event(rec.task_id))
    if body is None:
        raise ApiError(
            "InvalidStatus.EventPending",
            f"The completion event of {rec.task_id} has not been sent yet; it is still queued.",
            400,
        )
    destinations = [wanted] if wanted else configured
    bodies = {
        text(k): text(v)
        for k, v in store.r.hgetall(store.keys.task_event_bodies(rec.task_id)).items()
    }
    replay.replay_task(
        store.r,
        store.keys,
        task_id=rec.task_id,
        event_id=rec.event_id,
        body=body.decode() if isinstance(body, bytes) else str(body),
        destinations=destinations,
        log_ttl_s=store.ttl_s,
        bodies=bodies,
    )
    return {
        "ProjectName": rec.project,
        "TaskId": rec.task_id,
        "EventId": rec.event_id,
        "Destinations": destinations,
    }


def delivery_summary(services: Services, rec: TaskRecord) -> dict[str, Any]:
    """GetTask's `NotificationDelivery` (an imm-engine extension the SDK ignores): where the
    finished task's completion event stands. Empty for a running task or no destination."""
    if not rec.finished:
        return {}
    summaries = delivery_log.per_destination(
        _entries(services, rec.task_id), _destinations(services, rec)
    )
    if not summaries:
        return {}
    return {
        "NotificationDelivery": {
            "State": delivery_log.overall(summaries),
            "Attempts": sum(s["Attempts"] for s in summaries),
        }
    }


DELIVERY_ACTIONS = {
    "ListTaskDeliveries": list_task_deliveries,
    "ReplayTaskNotification": replay_task_notification,
}
