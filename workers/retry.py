"""When a failed run is tried again (pure)."""

from __future__ import annotations

from imm_engine.errors import TaskFailure

#: Runs of one task at most, counting the first.
MAX_ATTEMPTS = 3

#: Failures with fewer runs than MAX_ATTEMPTS. A LibreOffice crash may be transient (memory
#: pressure, a signal from outside) so it is tried once more; a second crash on the same
#: document is the document's fault (and quarantines it: workers/quarantine.py).
RUNS_BY_CODE = {"ConverterCrashed": 2}


def retry_delay(failure: TaskFailure, attempt: int) -> float | None:
    """Seconds to wait before the next run, or None to fail the task now.

    Only failures marked retryable (LibreOffice crashed or could not start, storage hiccups)
    are retried, with 2 s, 4 s between runs, and never past MAX_ATTEMPTS runs (a crash: one
    retry). A timeout (`ConvertTimeout`) is not retryable: the document already held the
    worker for IMM_CONVERT_TIMEOUT and would most likely hang again."""
    runs = RUNS_BY_CODE.get(failure.code, MAX_ATTEMPTS)
    if not failure.retryable or attempt >= runs:
        return None
    return float(2**attempt)
