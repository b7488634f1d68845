"""Every metric imm-engine records, and the helpers that record them.

API metrics live in `API_REGISTRY` (the API process exposes it at GET /metrics). Worker and
notifier metrics live in `WORKER_REGISTRY`; in the worker group they are also written to the
prometheus_client multiprocess directory (PROMETHEUS_MULTIPROC_DIR, set by `imm-engine
worker` / `imm-engine up` for their children), from which the group's HTTP endpoint
aggregates every pool process and the notifier (imm_engine/metrics/server.py).

Recording never raises: a metrics fault is logged once and the task or request goes on.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec

from prometheus_client import CollectorRegistry, Counter, Histogram

from imm_engine.metrics import labels

log = logging.getLogger("imm_engine.metrics")

P = ParamSpec("P")

API_REGISTRY = CollectorRegistry(auto_describe=True)
WORKER_REGISTRY = CollectorRegistry(auto_describe=True)

#: 0.05 s .. 600 s: a one-page text file to a large document or a long video.
TASK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600)
API_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
NOTIFY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

# --- API --------------------------------------------------------------------------------

API_REQUESTS = Counter(
    "imm_api_requests",
    "API requests answered, by action (x-acs-action) and HTTP status code.",
    ["action", "code"],
    registry=API_REGISTRY,
)
API_SECONDS = Histogram(
    "imm_api_request_seconds",
    "Time to answer an API request, by action.",
    ["action"],
    buckets=API_BUCKETS,
    registry=API_REGISTRY,
)

# --- workers ----------------------------------------------------------------------------

TASKS_FINISHED = Counter(
    "imm_tasks_finished",
    "Tasks a worker finished (final status written), by task type, status and Code.",
    ["task_type", "status", "code"],
    registry=WORKER_REGISTRY,
)
TASK_RETRIES = Counter(
    "imm_task_retries",
    "Task runs that failed with a retryable error and were queued again, by task type and Code.",
    ["task_type", "code"],
    registry=WORKER_REGISTRY,
)
CONVERSION_SECONDS = Histogram(
    "imm_conversion_seconds",
    "Processing time of a task run that ended the task (fetch, convert, store), by task type, "
    "source family, target format and final status.",
    ["task_type", "source", "target", "status"],
    buckets=TASK_BUCKETS,
    registry=WORKER_REGISTRY,
)
PAGES_CONVERTED = Counter(
    "imm_pages_converted",
    "Pages of the documents of succeeded tasks (the PageCount of their completion events).",
    ["task_type", "source", "target"],
    registry=WORKER_REGISTRY,
)
SOFFICE_RESTARTS = Counter(
    "imm_soffice_restarts",
    "LibreOffice (soffice) process starts, by reason: startup (first start of a worker process),"
    " crash (died during a conversion), died (found dead before a conversion), timeout "
    "(killed by the conversion watchdog), recycled (after IMM_SOFFICE_RESTART_AFTER documents),"
    " start_failed (a failed start tried again), profile_init (soffice asked for a restart "
    "after creating its profile), memory (a document hit IMM_MAX_PROCESS_MEMORY).",
    ["reason"],
    registry=WORKER_REGISTRY,
)
SOFFICE_SECONDS = Histogram(
    "imm_soffice_export_seconds",
    "Time LibreOffice took to load and export one document, by outcome (ok, failed, crash, "
    "timeout, memory).",
    ["outcome"],
    buckets=TASK_BUCKETS,
    registry=WORKER_REGISTRY,
)

# --- notifier ---------------------------------------------------------------------------

NOTIFY_DELIVERED = Counter(
    "imm_notify_delivered",
    "Completion events delivered, by destination type.",
    ["type"],
    registry=WORKER_REGISTRY,
)
NOTIFY_FAILURES = Counter(
    "imm_notify_failures",
    "Failed delivery attempts (each retry counts), by destination type.",
    ["type"],
    registry=WORKER_REGISTRY,
)
NOTIFY_GIVEN_UP = Counter(
    "imm_notify_given_up",
    "Completion events given up (moved to the dead list), by destination type.",
    ["type"],
    registry=WORKER_REGISTRY,
)
NOTIFY_SECONDS = Histogram(
    "imm_notify_attempt_seconds",
    "Duration of one delivery attempt, by destination type and result (delivered, failed).",
    ["type", "result"],
    buckets=NOTIFY_BUCKETS,
    registry=WORKER_REGISTRY,
)


def never_raises(fn: Callable[P, None]) -> Callable[P, None]:
    """Recording a metric must never fail a task or a request: log the first fault only."""
    warned: list[bool] = []

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except Exception:
            if not warned:
                warned.append(True)
                log.exception("metrics: cannot record %s (further faults not logged)", fn.__name__)

    return wrapper


@never_raises
def api_request(action: str, status_code: int, seconds: float) -> None:
    API_REQUESTS.labels(action, str(status_code)).inc()
    API_SECONDS.labels(action).observe(seconds)


@never_raises
def task_finished(
    task_type: str,
    job_labels: tuple[str, str],
    status: str,
    code: str,
    seconds: float | None,
    result: Mapping[str, Any],
) -> None:
    """A run wrote the task's final status (`seconds`: how long the run took, if known;
    `job_labels`: the job's (source family, target format), `Job.metric_labels`)."""
    source, target = job_labels
    TASKS_FINISHED.labels(task_type, status, labels.error_code(code)).inc()
    if seconds is not None:
        CONVERSION_SECONDS.labels(task_type, source, target, status).observe(seconds)
    pages = result.get("PageCount")
    if status == "Succeeded" and type(pages) is int and pages > 0:
        PAGES_CONVERTED.labels(task_type, source, target).inc(pages)


@never_raises
def task_retry(task_type: str, code: str) -> None:
    TASK_RETRIES.labels(task_type, labels.error_code(code)).inc()


@never_raises
def soffice_restart(reason: str) -> None:
    SOFFICE_RESTARTS.labels(reason).inc()


@never_raises
def soffice_export(outcome: str, seconds: float) -> None:
    SOFFICE_SECONDS.labels(outcome).observe(seconds)


@never_raises
def delivery(dest_type: str, state: str, seconds: float) -> None:
    """One attempt's outcome; `state` is the delivery log's (Delivered, Failed, GaveUp)."""
    if state == "Delivered":
        NOTIFY_DELIVERED.labels(dest_type).inc()
        NOTIFY_SECONDS.labels(dest_type, "delivered").observe(seconds)
        return
    NOTIFY_FAILURES.labels(dest_type).inc()
    NOTIFY_SECONDS.labels(dest_type, "failed").observe(seconds)
    if state == "GaveUp":
        NOTIFY_GIVEN_UP.labels(dest_type).inc()
