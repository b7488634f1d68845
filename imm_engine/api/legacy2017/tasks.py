"""CreateOfficeConversionTask, GetOfficeConversionTask, ListOfficeConversionTask,
DeleteOfficeConversionTask and ConvertOfficeFormat of IMM 2017-09-06.

A 2017 request is translated into the 2020 CreateOfficeConversionTask
(imm_engine/tasktypes/office_2017.py) and submitted by the same `submit_task`, so it runs on
the same queue, in the same warm LibreOffice, with the same record and guarantees. Reads go
through the 2020 `find_task` / `list_tasks`; only the answers are shaped as 2017's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from imm_engine.api import task_actions
from imm_engine.api.actions import submit_task
from imm_engine.api.legacy2017.context import Handler, Request2017, answering_2017
from imm_engine.api.params import SIGNATURE_PARAMS, Params
from imm_engine.api.services import redis_store
from imm_engine.api.task_lookup import find_task
from imm_engine.errors import ApiError, InvalidValue
from imm_engine.models import TaskRecord, TaskStatus, iso_time
from imm_engine.state.decode import text
from imm_engine.tasktypes import notify_2017, office_2017
from imm_engine.tasktypes.office_conversion import TASK_TYPE as SPEC

if TYPE_CHECKING:
    from imm_engine.api.services import Services

TASK_TYPE = SPEC.name
IDEMPOTENT_TTL_S = 43200
MAX_KEYS = 100
#: How often a waiting ConvertOfficeFormat looks at its task.
POLL_S = 0.02


def echo(rec: TaskRecord) -> dict[str, str]:
    """SrcUri, TgtUri, TgtType, ... as the 2017 request gave them (derived from the job for a
    task created with the 2020 API)."""
    job = SPEC.read_job(rec.job)
    if job.legacy2017 is not None:
        return {name: str(job.legacy2017.get(name, "")) for name in office_2017.ECHOED}
    target = job.target_prefix or job.target_template or ""
    kind = "text" if job.target_type == "txt" else job.target_type
    derived = {"SrcUri": job.source, "TgtUri": target, "TgtType": kind}
    return {name: derived.get(name, "") for name in office_2017.ECHOED}


def task_object(rec: TaskRecord, *, fail_detail: bool) -> dict[str, Any]:
    status = office_2017.status_2017(rec.status)
    target_type = SPEC.read_job(rec.job).target_type
    body: dict[str, Any] = {
        "TaskId": rec.task_id,
        "Status": status,
        "Percent": 100 if status == "Finished" else 0,
        "PageCount": office_2017.page_count(target_type, rec.result) if status == "Finished" else 0,
        "CreateTime": iso_time(rec.start_ts),
        "FinishTime": iso_time(rec.end_ts) if status == "Finished" and rec.end_ts else "",
        **echo(rec),
    }
    if fail_detail:
        body["FailDetail"] = {"Code": office_2017.fail_code(rec.status, rec.code)}
    return body


def submit(services: Services, params: Params, req: Request2017, *, notify: bool) -> TaskRecord:
    """Validate and queue a 2017 conversion as the 2020 task it stands for."""
    translated = office_2017.translate(params)
    notification: dict[str, Any] = {}
    if notify:
        notification = notify_2017.notification(
            params.get_str("NotifyTopicName", max_bytes=256),
            params.get_str("NotifyEndpoint", max_bytes=1024),
            req.host,
            services.submit,
        )
    sub = SPEC.submission(translated.params, services.submit)
    sub = dataclasses.replace(
        sub,
        job=dataclasses.replace(sub.job, page_index="document", legacy2017=translated.echo),
        notification=notification,
        definition={
            k: "******" if k == "Password" else v
            for k, v in params.values.items()
            if k not in SIGNATURE_PARAMS
        },
    )
    return submit_task(services, SPEC, sub, req.request_id, task_id=f"formatconvert-{uuid.uuid4()}")


def create_answer(rec: TaskRecord) -> dict[str, Any]:
    created = iso_time(rec.start_ts)
    status = office_2017.status_2017(rec.status)
    return {
        "TaskId": rec.task_id,
        "Status": "Running" if status == "Finished" else status,
        "CreateTime": created[:23] + "Z",  # milliseconds, as the 2017 answer shows them
        "Percent": 0,
        "TgtLoc": echo(rec)["TgtUri"],
    }


def create_task(services: Services, params: Params, req: Request2017) -> dict[str, Any]:
    material = office_2017.idempotency_material(params)
    if material is None:
        return create_answer(submit(services, params, req, notify=True))
    store = redis_store(services)
    r = store.r
    key = store.keys.legacy_idempotency(hashlib.sha256(material.encode()).hexdigest())
    if r.set(key, "pending", nx=True, ex=IDEMPOTENT_TTL_S):
        try:
            rec = submit(services, params, req, notify=True)
        except BaseException:
            r.delete(key)
            raise
        r.set(key, rec.task_id, xx=True, keepttl=True)
        return create_answer(rec)
    deadline = time.monotonic() + 5
    while True:
        raw = r.get(key)
        task_id = text(raw) if raw is not None else ""
        if task_id and task_id != "pending":
            found = services.store.get(task_id)
            if found is not None:
                return create_answer(found)
        if raw is None or time.monotonic() > deadline:
            # The first request failed or vanished: this one creates the task.
            return create_answer(submit(services, params, req, notify=True))
        time.sleep(POLL_S)


def _find(services: Services, params: Params) -> TaskRecord:
    project = params.get_str("Project", required=True, max_bytes=128) or ""
    task_id = params.get_str("TaskId", required=True, max_bytes=256) or ""
    return find_task(
        services,
        Params([("ProjectName", project), ("TaskType", TASK_TYPE), ("TaskId", task_id)]),
    )


def get_task(services: Services, params: Params, req: Request2017) -> dict[str, Any]:
    return task_object(_find(services, params), fail_detail=True)


def list_tasks(services: Services, params: Params, req: Request2017) -> dict[str, Any]:
    project = params.get_str("Project", required=True, max_bytes=128) or ""
    try:
        max_keys = params.get_int("MaxKeys", lo=1, hi=MAX_KEYS) or MAX_KEYS
    except ApiError:
        raise ApiError("InvalidMaxKeys", "Specified parameter MaxKeys is not valid.", 400) from None
    wanted = [
        ("ProjectName", project),
        ("TaskTypes", json.dumps([TASK_TYPE])),
        ("MaxResults", str(max_keys)),
    ]
    marker = params.get_str("Marker", max_bytes=4096)
    if marker:
        wanted.append(("NextToken", marker))
    try:
        answer = task_actions.list_tasks(services, Params(wanted), req.request_id)
    except (ApiError, InvalidValue) as err:
        if err.message.startswith("The parameter NextToken"):
            raise ApiError(
                "InvalidParameter.Marker", "The input parameter Marker is not valid.", 400
            ) from err
        raise
    records = [services.store.get(t["TaskId"]) for t in answer["Tasks"]]
    body: dict[str, Any] = {
        "Tasks": [task_object(rec, fail_detail=False) for rec in records if rec is not None]
    }
    if answer.get("NextToken"):
        body["NextMarker"] = answer["NextToken"]
    return body


def delete_task(services: Services, params: Params, req: Request2017) -> dict[str, Any]:
    """Succeeds whether or not the task exists, as IMM 2017 does. The record goes; outputs
    stay. A task deleted while Running sends no completion event."""
    try:
        rec = _find(services, params)
    except ApiError as err:
        if err.code in ("ResourceNotFound", "InvalidArgument") or err.code.startswith("Missing"):
            return {}
        raise
    services.store.delete(rec)
    return {}


def convert(services: Services, params: Params, req: Request2017) -> dict[str, Any]:
    """ConvertOfficeFormat: the same task, awaited for at most IMM_LEGACY_CONVERT_WAIT seconds."""
    rec = submit(services, params, req, notify=False)
    wait = services.legacy_convert_wait_s
    deadline = time.monotonic() + wait
    current: TaskRecord | None = rec
    while time.monotonic() < deadline:
        current = services.store.get(rec.task_id)
        if current is None or current.finished:
            break
        time.sleep(POLL_S)
    if current is None or not current.finished:
        raise ApiError(
            "ConvertTimeout",
            f"The document was not converted within {wait:g} s (task {rec.task_id} goes on and "
            "writes its outputs); convert long documents with CreateOfficeConversionTask.",
            400,
        )
    if current.status == TaskStatus.FAILED:
        code = office_2017.fail_code(current.status, current.code)
        raise ApiError(code, current.message or code, 400)
    target_type = SPEC.read_job(current.job).target_type
    return {"PageCount": office_2017.page_count(target_type, current.result)}


ACTIONS: dict[str, Handler] = {
    "CreateOfficeConversionTask": answering_2017(create_task),
    "GetOfficeConversionTask": answering_2017(get_task),
    "ListOfficeConversionTask": answering_2017(list_tasks),
    "DeleteOfficeConversionTask": answering_2017(delete_task),
    "ConvertOfficeFormat": answering_2017(convert),
}
