"""The Celery application of the workers: `celery -A workers.app worker`.

Configuration comes from `IMM_*` variables (imm_engine/settings.py) and is shared with the
API (imm_engine/broker.py). Each pool process owns one warm LibreOffice, started
when the process starts and stopped with it.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import redis
from celery import Celery, Task
from celery.exceptions import Reject, SoftTimeLimitExceeded, TimeLimitExceeded
from celery.signals import task_failure, worker_process_init, worker_process_shutdown

from imm_engine.broker import RANGES_QUEUE, celery_config, task_name
from imm_engine.metrics import server as metrics_server
from imm_engine.settings import Settings
from imm_engine.state import connection
from imm_engine.state.keys import Keys
from imm_engine.state.split import SplitStore
from imm_engine.state.store import TaskStore
from imm_engine.storage import open_store
from imm_engine.tasktypes import TASK_TYPES
from workers import runner
from workers.failures import outage, timelimits
from workers.failures.quarantine import Quarantine
from workers.isolation import sandbox
from workers.processors import discover
from workers.processors.office import write_page
from workers.soffice.converter import Converter
from workers.split import ranges

log = logging.getLogger("imm_engine.worker")

settings = Settings.from_env(os.environ)
keys = Keys(settings.key_prefix)

app = Celery("imm-engine")
app.conf.update(celery_config(settings))

PROCESSORS = discover()

_deps: runner.Deps | None = None


def deps() -> runner.Deps:
    """This process's store, storage and LibreOffice, created on first use after the fork."""
    global _deps
    if _deps is None:
        client = connection.connect(
            settings.redis_url,
            sentinel_password=settings.redis_sentinel_password.get_secret_value(),
            socket_timeout=30,
            socket_connect_timeout=5,
        )
        converter = Converter(
            binary=settings.soffice_path,
            profile_base=settings.data_dir.absolute() / "soffice",
            start_timeout_s=settings.soffice_start_timeout_s,
            convert_timeout_s=settings.convert_timeout_s,
            restart_after=settings.soffice_restart_after,
            policy=sandbox.policy_of(settings),
        )
        converter.start()
        _deps = runner.Deps(
            settings=settings,
            store=TaskStore(client, keys, settings.task_ttl_s),
            storage=open_store(settings),
            processors=PROCESSORS,
            resources={"converter": converter},
        )
        _deps.resources["quarantine"] = quarantine(client, _deps.store)
        _deps.resources["splitter"] = ranges.Splitter(
            _deps,
            SplitStore(client, keys, settings.split_scratch_ttl_s),
            publish_range,
            write_page,
        )
    return _deps


def publish_range(task_id: str, k: int, countdown: float) -> None:
    """Queue one run of range `k` of a split task (on the ranges queue every worker reads)."""
    app.send_task(
        ranges.RANGE_TASK,
        args=[task_id, k],
        task_id=ranges.message_id(task_id, k),
        queue=keys.queue(RANGES_QUEUE),
        countdown=countdown or None,
        retry=True,
        retry_policy={"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2},
    )


def quarantine(client: redis.Redis, store: TaskStore) -> Quarantine | None:
    """Documents that keep crashing LibreOffice are refused (None: IMM_QUARANTINE_AFTER=0).
    A run lost with its worker is an infrastructure fault of its task
    (workers/failures/retry.py)."""
    if not settings.quarantine_after:
        return None
    return Quarantine(
        client,
        keys,
        threshold=settings.quarantine_after,
        ttl_s=settings.quarantine_ttl_s,
        on_worker_lost=lambda task_id: store.infrastructure_faults(task_id, 1),
    )


@worker_process_init.connect
def _start_process(**_: Any) -> None:
    sandbox.bound_this_process(sandbox.policy_of(settings))
    deps().resources["converter"].warm_up()  # so the first task finds LibreOffice warm


@worker_process_shutdown.connect
def _stop_process(**_: Any) -> None:
    if _deps is not None:
        _deps.resources["converter"].close()
    metrics_server.mark_dead(os.getpid())


_main_deps: runner.Deps | None = None


@task_failure.connect
def _on_task_failure(
    task_id: str | None = None, exception: BaseException | None = None, **_: Any
) -> None:
    """In the main process after Celery killed a run at the hard time limit."""
    global _main_deps
    if task_id is None or not isinstance(exception, TimeLimitExceeded):
        return
    task_id = ranges.parent_of(task_id) or task_id  # a range killed: its task fails
    if _main_deps is None:  # no LibreOffice here: only the store, to finish the record
        client = connection.connect(
            settings.redis_url,
            sentinel_password=settings.redis_sentinel_password.get_secret_value(),
            socket_timeout=30,
        )
        _main_deps = runner.Deps(
            settings=settings,
            store=TaskStore(client, keys, settings.task_ttl_s),
            storage=open_store(settings),
            processors=PROCESSORS,
        )
    try:
        timelimits.fail_after_hard_limit(task_id, _main_deps)
    except Exception:
        log.exception("task %s: cannot record the hard time limit", task_id)


def _register(task_type: str) -> None:
    @app.task(name=task_name(task_type), bind=True, max_retries=None, acks_late=True)
    def run_task(self: Task, task_id: str) -> None:
        try:
            # Not `self.retry` while Redis is away: that publishes to the same Redis.
            outage.until_reachable(
                f"task {task_id}",
                lambda: runner.run(task_id, deps()),
                give_up_after_s=settings.task_soft_time_limit_s,
            )
        except runner.RetryLater as later:
            raise self.retry(countdown=later.countdown) from later
        except (*outage.UNREACHABLE, SoftTimeLimitExceeded) as exc:
            # Still no Redis at the soft limit: the record could not be finished. Hand the
            # message back (or, if Redis cannot even take it, leave it unacknowledged: it is
            # delivered again after the visibility timeout) rather than acknowledge it.
            log.error("task %s: gave up waiting for Redis (%r); requeued", task_id, exc)
            raise Reject(exc, requeue=True) from exc


for _spec in TASK_TYPES:
    _register(_spec.name)


@app.task(name=ranges.RANGE_TASK, bind=True, max_retries=None, acks_late=True)
def render_range(self: Task, task_id: str, k: int) -> None:
    """One page range of a split task (workers/split/ranges.py); acknowledged after the run,
    like every task, so a range lost with its worker is delivered again."""
    splitter: ranges.Splitter = deps().resources["splitter"]
    try:
        outage.until_reachable(
            f"range {k} of task {task_id}",
            lambda: splitter.run_range(task_id, k),
            give_up_after_s=settings.task_soft_time_limit_s,
        )
    except (*outage.UNREACHABLE, SoftTimeLimitExceeded) as exc:
        log.error("range %d of task %s: gave up waiting for Redis (%r); requeued", k, task_id, exc)
        raise Reject(exc, requeue=True) from exc
