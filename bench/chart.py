"""The benchmark's results as one PNG: a panel per section, drawn from the results document
(`bench/results/latest.json`) with matplotlib's Agg backend (no screen needed).

    python -m bench.chart [results.json] [out.png]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SIZE_IN = (16.0, 9.0)
DPI = 100
COLORS = {"ours": "#1f77b4", "warm": "#2ca02c", "cold": "#d62728", "poll": "#ff7f0e"}


def draw(results: dict[str, Any], out: Path) -> Path:
    """Write the chart to `out` (PNG, 1600 x 900) and return it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=SIZE_IN, dpi=DPI)
    title = "imm-engine benchmark"
    if results.get("started_at"):
        title += f", {results['started_at']}"
    if results.get("cpus"):
        title += f", {results['cpus']} CPUs, LibreOffice {results.get('libreoffice', '?')}"
    fig.suptitle(title)
    _conversion(axes[0][0], results.get("conversion") or [])
    _pdf(axes[0][1], results.get("pdf") or [])
    _latency(axes[0][2], results.get("latency"))
    _throughput(axes[1][0], results.get("throughput") or [])
    _api(axes[1][1], results.get("api") or [])
    _memory(axes[1][2], results.get("memory"))
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    plt.close(fig)
    return out


def _empty(ax: Any, title: str) -> None:
    ax.set_title(title)
    ax.text(0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def _conversion(ax: Any, cases: list[dict[str, Any]]) -> None:
    title = "(a) one document end to end, seconds (log)"
    cases = [c for c in cases if c.get("ours") or c.get("warm") or c.get("cold")]
    if not cases:
        return _empty(ax, title)
    labels = [f"{c['doc'][:18]} > {c['target']}" for c in cases]
    width = 0.27
    for n, method in enumerate(("ours", "warm", "cold")):
        values = [(c.get(method) or {}).get("median_s") or 0 for c in cases]
        xs = [i + (n - 1) * width for i in range(len(cases))]
        name = {"ours": "imm-engine", "warm": "bare warm LO", "cold": "cold soffice"}[method]
        ax.bar(xs, values, width, label=name, color=COLORS[method])
    ax.set_yscale("log")
    ax.set_xticks(range(len(cases)), labels, fontsize=7, rotation=35, ha="right")
    ax.set_title(title)
    ax.legend(fontsize=8)


def _pdf(ax: Any, cases: list[dict[str, Any]]) -> None:
    title = "(b) PDF -> PNG, ms per page"
    cases = [c for c in cases if c.get("ours_ms_per_page") is not None]
    if not cases:
        return _empty(ax, title)
    xs = range(len(cases))
    ax.bar([x - 0.2 for x in xs], [c["ours_ms_per_page"] for c in cases], 0.4,
           label="imm-engine", color=COLORS["ours"])  # fmt: skip
    ax.bar([x + 0.2 for x in xs], [c["bare_ms_per_page"] or 0 for c in cases], 0.4,
           label="bare PyMuPDF", color=COLORS["warm"])  # fmt: skip
    ax.set_xticks(list(xs), [f"{c['doc']}\n{c['pages']} p" for c in cases], fontsize=8)
    ax.set_title(title)
    ax.legend(fontsize=8)


def _latency(ax: Any, lat: dict[str, Any] | None) -> None:
    title = "(c) finished -> client knows, ms"
    if not lat or not lat.get("notify_samples_ms"):
        return _empty(ax, title)
    ax.boxplot(
        [lat["notify_samples_ms"], lat["poll_samples_ms"]],
        tick_labels=["notification", "GetTask every 1 s"],
    )
    ax.set_yscale("log")
    ax.set_title(title)


def _throughput(ax: Any, items: list[dict[str, Any]]) -> None:
    title = "(d) documents per second"
    if not items:
        return _empty(ax, title)
    ax.bar([str(t["workers"]) for t in items], [t["docs_per_s"] for t in items],
           color=COLORS["ours"])  # fmt: skip
    if items:
        base = items[0]["docs_per_s"] / items[0]["workers"]
        ax.plot([str(t["workers"]) for t in items], [base * t["workers"] for t in items],
                "k--", label="linear")  # fmt: skip
        ax.legend(fontsize=8)
    ax.set_xlabel("worker processes")
    ax.set_title(title)


def _api(ax: Any, items: list[dict[str, Any]]) -> None:
    title = "(e) API requests per second (SDK clients)"
    if not items:
        return _empty(ax, title)
    names = [r["action"].replace("CreateOfficeConversionTask", "CreateOffice...") for r in items]
    ax.bar(names, [r["req_per_s"] for r in items], color=COLORS["ours"])
    for n, r in enumerate(items):
        ax.text(n, r["req_per_s"], f"p50 {r['latency_ms_median']} ms", ha="center", va="bottom")
    ax.set_title(title)


def _memory(ax: Any, mem: dict[str, Any] | None) -> None:
    title = "(f) resident memory over documents, MiB"
    if not mem or not mem.get("series"):
        return _empty(ax, title)
    series = mem["series"]
    roles = sorted({r for _, rss in series for r in rss})
    for role in roles:
        ax.plot([n for n, _ in series], [rss.get(role, float("nan")) for _, rss in series],
                label=role, linewidth=1)  # fmt: skip
    ax.set_xlabel("documents done")
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.legend(fontsize=8)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    here = Path(__file__).resolve().parent / "results"
    src = Path(args[0]) if args else here / "latest.json"
    out = Path(args[1]) if len(args) > 1 else src.with_suffix(".png")
    print(draw(json.loads(src.read_text()), out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
