"""When a failed task run is tried again (workers/retry.py)."""

from __future__ import annotations

import pytest

from imm_engine.errors import TaskFailure
from workers.retry import MAX_ATTEMPTS, retry_delay

RETRYABLE = TaskFailure("InternalError", "LibreOffice crashed", retryable=True)
PERMANENT = TaskFailure("InvalidArgument.PageRange", "no page selected")
CRASHED = TaskFailure("ConverterCrashed", "LibreOffice stopped", retryable=True)
TIMEOUT = TaskFailure("ConvertTimeout", "did not finish")
QUARANTINED = TaskFailure("InvalidFile.Quarantined", "quarantined")

CASES = [
    # (failure, runs so far, delay or None)
    pytest.param(RETRYABLE, 1, 2.0, id="after-first-run-2s"),
    pytest.param(RETRYABLE, 2, 4.0, id="after-second-run-4s"),
    pytest.param(RETRYABLE, 3, None, id="third-run-is-the-last"),
    pytest.param(RETRYABLE, 4, None, id="past-the-limit"),
    pytest.param(PERMANENT, 1, None, id="not-retryable"),
    pytest.param(PERMANENT, 2, None, id="not-retryable-later"),
    pytest.param(CRASHED, 1, 2.0, id="crash-is-retried-once"),
    pytest.param(CRASHED, 2, None, id="crash-is-not-retried-twice"),
    pytest.param(TIMEOUT, 1, None, id="timeout-is-not-retried"),
    pytest.param(QUARANTINED, 1, None, id="quarantined-is-never-retried"),
]  # fmt: skip


@pytest.mark.parametrize(("failure", "attempt", "delay"), CASES)
def test_retry_delay(failure: TaskFailure, attempt: int, delay: float | None) -> None:
    assert retry_delay(failure, attempt) == delay


def test_at_most_three_runs() -> None:
    assert MAX_ATTEMPTS == 3
    runs = 1
    while retry_delay(RETRYABLE, runs) is not None:
        runs += 1
    assert runs == MAX_ATTEMPTS


def test_failure_defaults_to_not_retryable() -> None:
    failure = TaskFailure("X", "y")
    assert (failure.code, failure.message, failure.retryable) == ("X", "y", False)
    assert retry_delay(failure, 1) is None
