"""A run that outlives its time limits fails, once, with `ConvertTimeout`.

The soft limit (`IMM_TASK_SOFT_TIME_LIMIT`) raises SoftTimeLimitExceeded inside the run,
which fails the task itself (workers/runner.py). A run that cannot react (stuck outside
Python, or its process frozen) is killed by Celery at the hard limit (`IMM_TASK_TIME_LIMIT`);
Celery then acknowledges the message, so without this the record would stay `Running`
forever. Here the worker's main process finishes it instead, as the run would have.
"""

from __future__ import annotations

import logging

from imm_engine.models import TaskStatus
from workers import runner
from workers.failures import outage

log = logging.getLogger("imm_engine.worker")

CODE = "ConvertTimeout"


def fail_after_hard_limit(task_id: str, deps: runner.Deps) -> bool:
    """Finish a task whose run was killed at the hard limit. False if it was already final."""
    rec = outage.until_reachable(
        f"task {task_id}: read after the hard time limit",
        lambda: deps.store.get(task_id),
        give_up_after_s=5,  # the worker's main loop waits meanwhile; keep it short
    )
    if rec is None or rec.finished:
        return False
    limit = deps.settings.task_time_limit_s
    log.error("task %s: killed at the hard time limit (%d s); failing it", task_id, limit)
    return runner.finish(
        deps,
        rec,
        TaskStatus.FAILED,
        code=CODE,
        message=f"The task did not finish within {limit} s and its process was killed.",
    )
