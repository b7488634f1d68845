"""When to try a failed delivery again (pure)."""

from __future__ import annotations

import random


def next_delay(failures: int, max_delay_s: float, rng: random.Random | None = None) -> float:
    """Seconds before the next attempt after `failures` failed ones: 1, 2, 4, ... capped,
    with +-20% jitter so that retries to one receiver do not arrive in lockstep."""
    base = min(max_delay_s, 2.0 ** max(0, failures - 1))
    jitter = (rng or random).uniform(0.8, 1.2)
    return min(max_delay_s, base * jitter)
