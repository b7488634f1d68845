"""Riding out a Redis outage inside a task run.

Redis holds both the task records and the Celery queue, so while it is away a run can neither
write its result nor ask Celery to retry later (that is a publish to the same Redis): a
`self.retry` then turns into a rejected, dropped message and a record stuck at `Running`.
Instead the run keeps going without progress reports, and the steps that must reach Redis
(reading the record, finishing it) wait for it to come back, retrying with a growing pause,
until the task's soft time limit stops the run. A run given up that way is not lost: its
message stays unacknowledged in Redis and is delivered again after the visibility timeout.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import redis
from tenacity import RetryCallState, Retrying, retry_if_exception_type

from imm_engine.backoff import exponential

log = logging.getLogger("imm_engine.worker")

T = TypeVar("T")

#: Errors that mean "Redis cannot be reached now", not "the command is wrong".
UNREACHABLE: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,  # a restarted Redis replaying its append-only file
)


def pause(attempt: int, longest_s: float = 5.0) -> float:
    """Seconds to wait before the next try (0.5, 1, 2, 4, 5, 5, ...)."""
    return exponential(attempt, first_s=0.5, cap_s=longest_s)


def until_reachable(
    what: str,
    call: Callable[[], T],
    *,
    give_up_after_s: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """`call()`, repeated while Redis is unreachable, for at most `give_up_after_s`: the
    last error is raised when the next pause would end past that. Other errors are raised
    at once. The outage is logged on the first failure and every tenth after it."""
    deadline = clock() + give_up_after_s

    def report(state: RetryCallState) -> None:
        if state.attempt_number == 1 or state.attempt_number % 10 == 0:
            exc = state.outcome.exception() if state.outcome else None
            log.warning("%s: Redis unreachable (%s); retrying until it is back", what, exc)

    return Retrying(
        retry=retry_if_exception_type(UNREACHABLE),
        wait=lambda state: pause(state.attempt_number),
        stop=lambda state: clock() + pause(state.attempt_number) > deadline,
        before_sleep=report,
        sleep=sleep,
        reraise=True,
    )(call)


def best_effort(what: str, call: Callable[[], None]) -> None:
    """`call()`, skipped while Redis is unreachable (progress reports: the next one wins)."""
    try:
        call()
    except UNREACHABLE as exc:
        log.debug("%s skipped: Redis unreachable (%s)", what, exc)
