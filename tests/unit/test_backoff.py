"""The retry curve (imm_engine/backoff.py) and delivery delays (imm_engine/notify/backoff.py)."""

from __future__ import annotations

import random

import pytest

from imm_engine.backoff import exponential
from imm_engine.notify.backoff import next_delay


class FixedJitter:
    """An rng whose `uniform(a, b)` returns a chosen point of [a, b]: 0 = a, 1 = b."""

    def __init__(self, where: float) -> None:
        self.where = where
        self.calls: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.calls.append((a, b))
        return a + (b - a) * self.where


BASES = [
    # (failures, max delay, delay without jitter)
    pytest.param(0, 300.0, 1.0, id="zero-failures"),
    pytest.param(1, 300.0, 1.0, id="first"),
    pytest.param(2, 300.0, 2.0, id="second"),
    pytest.param(3, 300.0, 4.0, id="third"),
    pytest.param(9, 300.0, 256.0, id="ninth"),
    pytest.param(10, 300.0, 300.0, id="capped"),
    pytest.param(1000, 300.0, 300.0, id="max-attempts-setting"),
    pytest.param(3, 0.5, 0.5, id="tiny-cap"),
]  # fmt: skip


@pytest.mark.parametrize(("failures", "cap", "base"), BASES)
def test_delay_without_jitter(failures: int, cap: float, base: float) -> None:
    rng = FixedJitter(0.5)  # uniform(0.8, 1.2) -> 1.0
    assert next_delay(failures, cap, rng) == pytest.approx(base)
    assert rng.calls == [(0.8, 1.2)]


@pytest.mark.parametrize(
    ("failures", "cap", "where", "expected"),
    [
        pytest.param(3, 300.0, 0.0, 3.2, id="low-jitter"),
        pytest.param(3, 300.0, 1.0, 4.8, id="high-jitter"),
        pytest.param(10, 300.0, 0.0, 240.0, id="capped-then-low-jitter"),
        pytest.param(10, 300.0, 1.0, 300.0, id="jitter-never-exceeds-cap"),
    ],
)
def test_jitter_bounds(failures: int, cap: float, where: float, expected: float) -> None:
    assert next_delay(failures, cap, FixedJitter(where)) == pytest.approx(expected)


@pytest.mark.parametrize("failures", [1, 2, 5, 12])
def test_seeded_rng_stays_within_20_percent(failures: int) -> None:
    rng = random.Random(1234)
    base = min(300.0, 2.0 ** (failures - 1))
    for _ in range(200):
        delay = next_delay(failures, 300.0, rng)
        assert 0.8 * base <= delay <= min(300.0, 1.2 * base)


def test_delays_grow() -> None:
    rng = FixedJitter(0.5)
    delays = [next_delay(n, 300.0, rng) for n in range(1, 8)]
    assert delays == sorted(delays)
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]


@pytest.mark.parametrize(
    ("failures", "first", "cap", "expected"),
    [
        pytest.param(-3, 0.5, 5.0, 0.5, id="no-failure-yet-is-the-first-wait"),
        pytest.param(1, 0.5, 5.0, 0.5, id="first"),
        pytest.param(4, 0.5, 5.0, 4.0, id="doubles"),
        pytest.param(5, 0.5, 5.0, 5.0, id="capped"),
        pytest.param(10**6, 1.0, 16.0, 16.0, id="huge-attempt-does-not-overflow"),
    ],
)
def test_exponential_curve(failures: int, first: float, cap: float, expected: float) -> None:
    assert exponential(failures, first_s=first, cap_s=cap) == expected


def test_no_jitter_draws_nothing() -> None:
    rng = FixedJitter(1.0)
    assert exponential(3, first_s=1.0, cap_s=300.0, rng=rng) == 4.0
    assert rng.calls == []
