"""The life of one task run: load the record, process, finish once, queue the event.

Runs are idempotent: a record that is already final is left alone (a redelivered message),
outputs go to deterministic names (a re-run overwrites them), and the final status and the
completion events are written in one atomic step (TaskStore.finish).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

from imm_engine.errors import TaskFailure
from imm_engine.metrics import registry as metrics
from imm_engine.metrics.labels import OTHER
from imm_engine.models import TaskRecord, TaskStatus
from imm_engine.notify import events, legacy_events
from imm_engine.settings import Settings
from imm_engine.state.store import OutboxEvent, TaskStore
from imm_engine.storage.base import AccessDenied, ObjectStore, StorageError
from imm_engine.storage.guarded import GuardedStore
from imm_engine.targets import uris
from imm_engine.tasktypes import BY_TYPE
from imm_engine.tasktypes.job import UnreadableJob
from imm_engine.tasktypes.office_conversion import TASK_TYPE as OFFICE
from workers.failures import outage
from workers.failures.retry import retry_delay
from workers.isolation import memwatch
from workers.processors.base import Deferred, Processor, Progress, TaskContext
from workers.workdir import workdir

log = logging.getLogger("imm_engine.worker")


class RetryLater(Exception):
    def __init__(self, failure: TaskFailure, countdown: float) -> None:
        super().__init__(failure.message)
        self.failure = failure
        self.countdown = countdown


@dataclass
class Deps:
    settings: Settings
    store: TaskStore
    storage: ObjectStore
    processors: Mapping[str, Processor[Any]]
    resources: dict[str, Any] = field(default_factory=dict)


def run(task_id: str, deps: Deps) -> None:
    rec = deps.store.get(task_id)
    if rec is None:
        log.warning("task %s has no record (expired, or never created): skipped", task_id)
        return
    if rec.finished:
        log.info("task %s is already %s: nothing to do", task_id, rec.status)
        return
    attempt = deps.store.begin_attempt(task_id)
    processor = deps.processors.get(rec.task_type)
    started = time.monotonic()
    try:
        if processor is None:
            raise TaskFailure(
                "UnsupportedTaskType", f"This worker cannot run {rec.task_type} tasks."
            )
        with workdir(task_id) as wd:
            ctx = TaskContext(
                settings=deps.settings,
                storage=task_storage(deps, rec),
                workdir=wd,
                progress=Progress(
                    lambda pct: outage.best_effort(
                        "progress", lambda: deps.store.set_progress(task_id, pct)
                    )
                ),
                resources=deps.resources,
                on_page=early_pages(deps, task_id),
            )
            result = processor.run(processor.task_type.read_job(rec.job), rec, ctx)
    except Deferred:
        log.info("task %s: handed on to its page ranges", task_id)
        return
    except TaskFailure as failure:
        failure = access_denied(failure)
        faults = deps.store.infrastructure_faults(task_id, 1 if failure.infrastructure else 0)
        delay = retry_delay(failure, attempt, faults)
        if delay is not None:
            log.warning(
                "task %s attempt %d: %s; retrying in %.0f s", task_id, attempt, failure, delay
            )
            metrics.task_retry(rec.task_type, failure.code)
            raise RetryLater(failure, delay) from failure
        log.info("task %s failed: %s", task_id, failure)
        finish(
            deps,
            rec,
            TaskStatus.FAILED,
            code=failure.code,
            message=failure.message,
            started=started,
        )
        return
    except MemoryError:
        # This pool process hit its own memory bound (PyMuPDF rendering,
        # workers/isolation/sandbox.py):
        # the document's fault, not retried; the process frees it and goes on.
        log.warning("task %s: the memory bound of the worker process was reached", task_id)
        bound = memwatch.exceeded("The document", deps.settings.max_process_memory_mib << 20)
        finish(
            deps,
            rec,
            TaskStatus.FAILED,
            code=bound.code,
            message=bound.message,
            started=started,
        )
        return
    except outage.UNREACHABLE:
        raise  # Redis away (e.g. the quarantine's bookkeeping): run again once it is back
    except SoftTimeLimitExceeded:
        log.warning("task %s: soft time limit reached; failing it", task_id)
        finish(
            deps,
            rec,
            TaskStatus.FAILED,
            code="ConvertTimeout",
            message=f"The task did not finish within {deps.settings.task_soft_time_limit_s} s "
            "and was stopped.",
            started=started,
        )
        return
    except Exception as exc:
        log.exception("task %s: unexpected error", task_id)
        finish(
            deps,
            rec,
            TaskStatus.FAILED,
            code="InternalError",
            message=f"The task failed on an internal error ({type(exc).__name__}).",
            started=started,
        )
        return
    finish(deps, rec, TaskStatus.SUCCEEDED, result=result, started=started)
    log.info(
        "task %s succeeded in %.2f s (%s outputs)",
        task_id,
        time.monotonic() - started,
        result.get("TargetCount", "?"),
    )


def early_pages(deps: Deps, task_id: str) -> Callable[[int, int], None] | None:
    """With IMM_EARLY_PAGES, the pages a run writes are recorded for GetTask's WrittenPages."""
    splitter = deps.resources.get("splitter")
    if not deps.settings.early_pages or splitter is None:
        return None
    return lambda page, total: splitter.page_written(task_id, page, total)


def finish(
    deps: Deps,
    rec: TaskRecord,
    status: TaskStatus,
    *,
    code: str = "",
    message: str = "",
    result: dict[str, Any] | None = None,
    started: float | None = None,
) -> bool:
    """Write the final status and queue the events, once; `started` (time.monotonic() when
    the run began) times the run for imm_conversion_seconds."""
    end = time.time()
    body = events.content(rec, status, code, message, end, result or {})
    message_json = events.encode(
        events.envelope(
            rec,
            body,
            region=deps.settings.region,
            account_id=deps.settings.account_id,
            now_ms=int(end * 1000),
        )
    )
    write_extended_message(deps, rec, body)
    routes = deps.settings.notify_routes
    legacy_json = (
        legacy_events.message(rec, status, code, message, end, result or {})
        if created_by_2017(rec)
        else None
    )
    # A 2017 task's topic gets the 2017 event; a catch-all (`*`) route always the 2020 one.
    catch_all = routes.catch_all_only(rec.notification) if legacy_json else set()
    outbox = [
        OutboxEvent(
            d.name, legacy_json if legacy_json and d.name not in catch_all else message_json
        )
        for d in routes.destinations(rec.notification)
    ]
    done = outage.until_reachable(
        f"task {rec.task_id}: finish",
        lambda: deps.store.finish(
            rec, status, code=code, message=message, result=result, events=outbox, end_ts=end
        ),
        give_up_after_s=deps.settings.task_soft_time_limit_s,
    )
    if not done:
        log.info("task %s was finished by another run; this run's result is dropped", rec.task_id)
        return done
    seconds = time.monotonic() - started if started is not None else None
    metrics.task_finished(rec.task_type, job_labels(rec), str(status), code, seconds, result or {})
    return done


def created_by_2017(rec: TaskRecord) -> bool:
    """A task created with the IMM 2017 API (its job holds what its answers echo): its topic
    gets the 2017 completion event. A record whose job cannot be read is not one."""
    try:
        return rec.task_type == OFFICE.name and OFFICE.read_job(rec.job).legacy2017 is not None
    except UnreadableJob:
        return False


def job_labels(rec: TaskRecord) -> tuple[str, str]:
    """The metric labels of the record's job ("other" when it cannot be read)."""
    declared = BY_TYPE.get(rec.task_type)
    try:
        return declared.read_job(rec.job).metric_labels() if declared else ("", "")
    except UnreadableJob:
        return OTHER, OTHER


def write_extended_message(deps: Deps, rec: TaskRecord, body: dict[str, Any]) -> None:
    """`Notification.ExtendedMessageURI`: the full task details as a JSON object in storage."""
    target = rec.notification.get("ExtendedMessageURI")
    if not target:
        return
    try:
        uri = uris.parse_object(target, "ExtendedMessageURI")
        with workdir(rec.task_id) as wd:
            path = wd / "message.json"
            path.write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")
            task_storage(deps, rec).upload(path, uri)
    except (StorageError, OSError, ValueError) as exc:
        log.warning("task %s: cannot write ExtendedMessageURI %s: %s", rec.task_id, target, exc)


def task_storage(deps: Deps, rec: TaskRecord) -> ObjectStore:
    """The storage a task sees: only the buckets its service role is granted."""
    return GuardedStore(deps.storage, deps.settings.storage.grants, rec.service_role)


def access_denied(failure: TaskFailure) -> TaskFailure:
    """A failure caused by a refused read or write ends with Code `AccessDenied`, whichever
    processor turned the storage error into its own code (SourceReadFailed, ...)."""
    if isinstance(failure.__cause__, AccessDenied) and failure.code != "AccessDenied":
        return TaskFailure("AccessDenied", failure.message)
    return failure
