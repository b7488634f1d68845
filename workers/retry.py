"""When a failed run is tried again (pure)."""

from __future__ import annotations

from imm_engine.errors import TaskFailure

#: Runs of one task at most, counting the first.
MAX_ATTEMPTS = 3


def retry_delay(failure: TaskFailure, attempt: int) -> float | None:
    """Seconds to wait before the next run, or None to fail the task now.

    Only failures marked retryable (LibreOffice crashed or could not start, storage hiccups)
    are retried, with 2 s, 4 s between runs, and never past MAX_ATTEMPTS runs."""
    if not failure.retryable or attempt >= MAX_ATTEMPTS:
        return None
    return float(2**attempt)
