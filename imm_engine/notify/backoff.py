"""When to try a failed delivery again (pure)."""

from __future__ import annotations

from imm_engine.backoff import Uniform, exponential


def next_delay(failures: int, max_delay_s: float, rng: Uniform | None = None) -> float:
    """Seconds before the next attempt after `failures` failed ones: 1, 2, 4, ... capped,
    with +-20% jitter so that retries to one receiver do not arrive in lockstep."""
    return exponential(failures, first_s=1.0, cap_s=max_delay_s, jitter=0.2, rng=rng)
