"""Small helpers shared by the bench sections."""

from __future__ import annotations

import statistics
import sys
from collections.abc import Sequence


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100), nearest rank."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def ms(seconds: float | None) -> float | None:
    """Seconds as milliseconds rounded to 0.01 (None stays None), for the JSON."""
    return None if seconds is None else round(seconds * 1000, 2)
