"""When a failed task run is tried again (workers/failures/retry.py)."""

from __future__ import annotations

import pytest

from imm_engine.errors import TaskFailure
from workers.failures.retry import MAX_ATTEMPTS, retry_delay

RETRYABLE = TaskFailure("InternalError", "LibreOffice crashed", retryable=True)
PERMANENT = TaskFailure("InvalidArgument.PageRange", "no page selected")
CRASHED = TaskFailure("ConverterCrashed", "LibreOffice stopped", retryable=True)
TIMEOUT = TaskFailure("ConvertTimeout", "did not finish")
QUARANTINED = TaskFailure("InvalidFile.Quarantined", "quarantined")
KILLED = TaskFailure("ConverterCrashed", "killed from outside", infrastructure=True)

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


INFRASTRUCTURE = [
    # (failure, runs so far, runs of them lost to infrastructure, retried)
    pytest.param(KILLED, 1, 1, True, id="killed-once"),
    pytest.param(KILLED, 2, 2, True, id="killed-twice-in-a-row"),
    pytest.param(KILLED, 5, 5, True, id="killed-five-times-is-within-budget-plus-runs"),
    pytest.param(KILLED, 7, 7, False, id="past-budget-and-runs"),
    pytest.param(CRASHED, 2, 1, True, id="a-real-crash-after-a-lost-worker-is-retried"),
    pytest.param(CRASHED, 3, 1, False, id="two-real-crashes-are-not"),
    pytest.param(RETRYABLE, 3, 1, True, id="lost-runs-do-not-eat-the-three"),
    pytest.param(PERMANENT, 2, 1, False, id="permanent-stays-permanent"),
]  # fmt: skip


@pytest.mark.parametrize(("failure", "attempt", "faults", "retried"), INFRASTRUCTURE)
def test_runs_lost_to_infrastructure_are_not_counted(
    failure: TaskFailure, attempt: int, faults: int, retried: bool
) -> None:
    assert (retry_delay(failure, attempt, faults) is not None) == retried
