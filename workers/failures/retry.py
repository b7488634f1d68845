"""When a failed run is tried again (pure)."""

from __future__ import annotations

from imm_engine.backoff import exponential
from imm_engine.errors import TaskFailure

#: Runs of one task at most, counting the first, besides runs lost to infrastructure.
MAX_ATTEMPTS = 3

#: Failures with fewer runs than MAX_ATTEMPTS. A LibreOffice crash that is not a kill from
#: outside is tried once more; a second crash on the same document is the document's fault
#: (and quarantines it: workers/failures/quarantine.py).
RUNS_BY_CODE = {"ConverterCrashed": 2}

#: Runs lost to infrastructure (a worker or LibreOffice killed from outside: the OOM killer, an
#: operator, a deploy) that are not counted against the document, per task at most.
INFRASTRUCTURE_BUDGET = 4


def retry_delay(failure: TaskFailure, attempt: int, infrastructure_faults: int = 0) -> float | None:
    """Seconds to wait before the next run, or None to fail the task now.

    Only failures marked retryable (LibreOffice crashed or could not start, storage hiccups)
    are retried, with 2 s, 4 s between runs, and never past MAX_ATTEMPTS runs (a crash: one
    retry). Runs lost to infrastructure (`infrastructure_faults`, this run's included when it
    was one) do not count, up to INFRASTRUCTURE_BUDGET: a good document whose LibreOffice or
    worker is killed twice still converts. A timeout (`ConvertTimeout`) is not retryable: the
    document already held the worker for IMM_CONVERT_TIMEOUT and would most likely hang again."""
    runs = RUNS_BY_CODE.get(failure.code, MAX_ATTEMPTS)
    if failure.infrastructure:
        runs = MAX_ATTEMPTS
    counted = attempt - min(infrastructure_faults, INFRASTRUCTURE_BUDGET)
    if not failure.retryable or counted >= runs:
        return None
    # 1 s after a run that was not counted, then 2 s, 4 s, ... at most 16 s
    return exponential(counted + 1, first_s=1.0, cap_s=16.0)
