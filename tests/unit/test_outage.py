"""Waiting out an unreachable Redis inside a run (workers/failures/outage.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
import redis

from workers.failures.outage import best_effort, pause, until_reachable


@pytest.mark.parametrize(
    ("attempt", "seconds"), [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 5.0), (50, 5.0)]
)
def test_pause(attempt: int, seconds: float) -> None:
    assert pause(attempt) == seconds


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


def flaky(failures: int, exc: Exception) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if len(calls) <= failures:
            raise exc
        return "done"

    return calls, call


@pytest.mark.parametrize(
    "exc",
    [
        redis.exceptions.ConnectionError("refused"),
        redis.exceptions.TimeoutError("slow"),
        redis.exceptions.BusyLoadingError("loading"),
    ],
)
def test_retries_until_back(exc: Exception) -> None:
    clock = Clock()
    calls, call = flaky(4, exc)
    result = until_reachable(
        "t", call, give_up_after_s=60, sleep=clock.sleep, clock=lambda: clock.now
    )
    assert result == "done"
    assert len(calls) == 5
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0]


def test_gives_up_at_the_deadline() -> None:
    clock = Clock()
    _, call = flaky(1000, redis.exceptions.ConnectionError("refused"))
    with pytest.raises(redis.exceptions.ConnectionError):
        until_reachable("t", call, give_up_after_s=20, sleep=clock.sleep, clock=lambda: clock.now)
    assert clock.now <= 20
    assert sum(clock.sleeps) == clock.now


def test_the_outage_is_logged_first_and_every_tenth(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    _, call = flaky(25, redis.exceptions.ConnectionError("refused"))
    with caplog.at_level(logging.WARNING, logger="imm_engine.worker"):
        until_reachable("t", call, give_up_after_s=600, sleep=clock.sleep, clock=lambda: clock.now)
    assert len(clock.sleeps) == 25
    assert [r.getMessage() for r in caplog.records] == [
        "t: Redis unreachable (refused); retrying until it is back"
    ] * 3  # failures 1, 10 and 20


def test_other_errors_are_not_retried() -> None:
    clock = Clock()
    calls, call = flaky(1, redis.exceptions.ResponseError("WRONGTYPE"))
    with pytest.raises(redis.exceptions.ResponseError):
        until_reachable("t", call, give_up_after_s=60, sleep=clock.sleep, clock=lambda: clock.now)
    assert (len(calls), clock.sleeps) == (1, [])


def test_best_effort_skips_only_unreachable() -> None:
    def down() -> None:
        raise redis.exceptions.ConnectionError("refused")

    def broken() -> None:
        raise redis.exceptions.ResponseError("WRONGTYPE")

    best_effort("progress", down)
    with pytest.raises(redis.exceptions.ResponseError):
        best_effort("progress", broken)
