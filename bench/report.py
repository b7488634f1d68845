"""Results: one `Case` per (document, target); a plain-text table and a JSON file."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

METHODS = ("ours", "warm", "cold")


@dataclass
class Case:
    doc: str
    target: str
    #: Seconds per run, by method ("ours", "warm", "cold").
    samples: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in METHODS})
    #: Page count each method reported (ours: PageCount of the notification; raw: the PDF).
    pages: dict[str, int] = field(default_factory=dict)

    def median(self, method: str) -> float | None:
        values = self.samples[method]
        return statistics.median(values) if values else None

    @property
    def page_count(self) -> int | None:
        return next((self.pages[m] for m in METHODS if m in self.pages), None)

    def ratio(self, numerator: str, denominator: str) -> float | None:
        a, b = self.median(numerator), self.median(denominator)
        return a / b if a is not None and b else None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"doc": self.doc, "target": self.target, "pages": self.page_count}
        for method in METHODS:
            values = self.samples[method]
            out[method] = (
                {
                    "median_s": _round(self.median(method)),
                    "min_s": _round(min(values)),
                    "max_s": _round(max(values)),
                    "runs": len(values),
                    "samples_s": [_round(v) for v in values],
                    "pages": self.pages.get(method),
                }
                if values
                else None
            )
        ours, warm = self.median("ours"), self.median("warm")
        out["ours_minus_warm_s"] = _round(ours - warm) if ours is not None and warm else None
        out["ours_over_warm"] = _round(self.ratio("ours", "warm"), 2)
        out["cold_over_ours"] = _round(self.ratio("cold", "ours"), 2)
        return out


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def table(cases: list[Case], runs: int, cold_runs: int) -> str:
    header = (
        "document",
        "to",
        "pages",
        f"ours s (n={runs})",
        f"bare warm s (n={runs})",
        f"cold s (n={cold_runs})",
        "ours-warm s",
        "ours/warm",
        "cold/ours",
    )
    rows = [header]
    for c in cases:
        ours, warm = c.median("ours"), c.median("warm")
        rows.append(
            (
                c.doc,
                c.target,
                "-" if c.page_count is None else str(c.page_count),
                _s(ours),
                _s(warm),
                _s(c.median("cold")),
                "-" if ours is None or warm is None else f"{ours - warm:+.3f}",
                _x(c.ratio("ours", "warm")),
                _x(c.ratio("cold", "ours")),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = []
    for n, row in enumerate(rows):
        cells = [
            cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
