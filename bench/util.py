"""Small helpers shared by the bench sections."""

from __future__ import annotations

import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


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


@dataclass
class Rate:
    """Requests of one kind made by `threads` threads for `seconds`: their latencies and errors.
    `kind` names the request in the report ("action" for API actions, "operation" for MNS)."""

    name: str
    threads: int
    kind: str = "action"
    seconds: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return len(self.latencies_s) / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            self.kind: self.name,
            "threads": self.threads,
            "requests": len(self.latencies_s),
            "seconds": round(self.seconds, 3),
            "req_per_s": round(self.per_second, 1),
            "latency_ms_median": ms(median(self.latencies_s)),
            "latency_ms_p99": ms(percentile(self.latencies_s, 99)),
            "errors": len(self.errors),
            "first_error": self.errors[0] if self.errors else None,
        }
