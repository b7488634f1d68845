"""The Celery application of the workers: `celery -A workers.app worker`.

Configuration comes from `IMM_*` variables (imm_engine/settings.py) and is shared with the
API (imm_engine/celery_config.py). Each pool process owns one warm LibreOffice, started
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

from imm_engine.celery_config import celery_config, task_name
from imm_engine.metrics import server as metrics_server
from imm_engine.settings import Settings
from imm_engine.state.keys import Keys
from imm_engine.state.store import TaskStore
from imm_engine.storage import open_store
from imm_engine.tasktypes import TASK_TYPES
from workers import outage, runner, sandbox, timelimits
from workers.processors.base import Processor
from workers.processors.compression import FileCompression
from workers.processors.image_to_pdf import ImageToPDF
from workers.processors.inspection import ArchiveFileInspection
from workers.processors.media import MediaConvert
from workers.processors.office import OfficeConversion
from workers.processors.splicing import ImageSplicing
from workers.processors.uncompression import FileUncompression
from workers.quarantine import Quarantine
from workers.soffice.converter import Converter

log = logging.getLogger("imm_engine.worker")

settings = Settings.from_env(os.environ)
keys = Keys(settings.key_prefix)

app = Celery("imm-engine")
app.conf.update(celery_config(settings))

PROCESSORS: dict[str, Processor] = {p.task_type: p for p in (OfficeConversion(),)}
PROCESSORS.update(
    (p.task_type, p)
    for p in (
        ImageToPDF(),
        FileCompression(),
        FileUncompression(),
        ArchiveFileInspection(),
        ImageSplicing(),
        MediaConvert(),
    )
)

_deps: runner.Deps | None = None


def deps() -> runner.Deps:
    """This process's store, storage and LibreOffice, created on first use after the fork."""
    global _deps
    if _deps is None:
        client = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=30,
            socket_connect_timeout=5,
            health_check_interval=30,
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
            resources={"converter": converter, "quarantine": quarantine(client)},
        )
    return _deps


def quarantine(client: redis.Redis) -> Quarantine | None:
    """Documents that keep crashing LibreOffice are refused (None: IMM_QUARANTINE_AFTER=0)."""
    if not settings.quarantine_after:
        return None
    return Quarantine(
        client, keys, threshold=settings.quarantine_after, ttl_s=settings.quarantine_ttl_s
    )


@worker_process_init.connect
def _start_process(**_: Any) -> None:
    sandbox.bound_this_process(sandbox.policy_of(settings))
    deps()  # starts soffice now, so the first task finds it warm


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
    if _main_deps is None:  # no LibreOffice here: only the store, to finish the record
        client = redis.Redis.from_url(settings.redis_url, socket_timeout=30)
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
    _register(_spec.task_type)
