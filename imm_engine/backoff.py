"""How long to wait before trying again: one exponential curve for every retry (pure).

The waits double from `first_s` after each failure, up to `cap_s`: delivering a notification
again (imm_engine/notify/dispatcher.py), running a failed task again (workers/failures/retry.py)
and waiting for Redis to come back inside a run (workers/failures/outage.py) all follow it, each
with its own first wait and cap. `jitter` spreads the waits of many retries to one receiver so
that they do not arrive in lockstep. Loops that retry a call use tenacity with this curve as
their wait; this module only says how long.
"""

from __future__ import annotations

import random
from typing import Protocol


class Uniform(Protocol):
    """The part of `random.Random` the jitter needs (tests pass a fixed one)."""

    def uniform(self, a: float, b: float) -> float: ...


def exponential(
    failures: int,
    *,
    first_s: float,
    cap_s: float,
    jitter: float = 0.0,
    rng: Uniform | None = None,
) -> float:
    """Seconds to wait after `failures` failed tries: `first_s`, twice that, four times, ...
    at most `cap_s` (no failure yet counts as one). With `jitter` (0.2: +-20%) the wait is
    scaled by a random factor within that fraction, and still never exceeds `cap_s`."""
    doublings = min(max(0, failures - 1), 1000)  # 2.0 ** 1024 overflows
    wait = min(cap_s, first_s * 2.0**doublings)
    if jitter:
        wait = min(cap_s, wait * (rng or random).uniform(1.0 - jitter, 1.0 + jitter))
    return float(wait)
