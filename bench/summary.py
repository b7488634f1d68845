"""The one-screen answer: every section's headline ratio against its goal (pure: from the
results document that `bench.run` writes as JSON)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Documents that count as "small" for the headline of (a): everything but the 430-page one.
LARGE = frozenset({"handbook-872p.docx"})


@dataclass(frozen=True)
class Row:
    section: str
    measure: str
    ours: str
    reference: str
    ratio: str
    goal: str
    met: bool | None  # None: no goal, or not measured


def _x(v: float) -> str:
    return f"{v:.2f}x"


def rows(results: dict[str, Any]) -> list[Row]:
    out: list[Row] = []
    conv = [c for c in results.get("conversion") or [] if c.get("ours_over_warm") is not None]
    small = [c for c in conv if c["doc"] not in LARGE]
    if small:
        ours = statistics.median(c["ours"]["median_s"] for c in small)
        warm = statistics.median(c["warm"]["median_s"] for c in small)
        ratios = [c["ours_over_warm"] for c in small]
        out.append(
            Row(
                "(a)",
                f"small documents, median of {len(small)} cases",
                f"{ours:.3f} s",
                f"{warm:.3f} s warm",
                f"{_x(statistics.median(ratios))} (max {_x(max(ratios))})",
                "<= 1.15x warm",
                statistics.median(ratios) <= 1.15,
            )
        )
    for c in conv:
        if c["doc"] in LARGE:
            out.append(
                Row(
                    "(a)",
                    f"{c['doc']} -> {c['target']} ({c['pages']} pages)",
                    f"{c['ours']['median_s']:.3f} s",
                    f"{c['warm']['median_s']:.3f} s warm",
                    _x(c["ours_over_warm"]),
                    "<= 1.15x warm",
                    c["ours_over_warm"] <= 1.15,
                )
            )
    small_cold = [
        c["cold_over_ours"]
        for c in results.get("conversion") or []
        if c["doc"] not in LARGE and c.get("cold_over_ours") is not None
    ]
    if small_cold:
        out.append(
            Row(
                "(a)",
                "cold soffice --convert-to / ours, small documents",
                "",
                "",
                f"{_x(min(small_cold))} faster at least",
                ">= 4x faster than cold",
                min(small_cold) >= 4,
            )
        )
    for p in results.get("pdf") or []:
        if p.get("ours_over_bare") is None:
            continue
        out.append(
            Row(
                "(b)",
                f"{p['doc']} -> png, per page ({p['pages']} pages)",
                f"{p['ours_ms_per_page']:.1f} ms",
                f"{p['bare_ms_per_page']:.1f} ms PyMuPDF",
                _x(p["ours_over_bare"]),
                "<= 1.1x PyMuPDF",
                p["ours_over_bare"] <= 1.1,
            )
        )
    lat = results.get("latency")
    if lat and lat.get("notify_ms_median") is not None:
        out.append(
            Row(
                "(c)",
                f"finished -> client knows, median of {lat['tasks']} tasks",
                f"{lat['notify_ms_median']:.1f} ms notified",
                f"{lat['poll_ms_mean']:.0f} ms polling 1/s (mean)",
                f"{lat['poll_ms_mean'] / max(lat['notify_ms_median'], 0.001):.0f}x sooner",
                "< 50 ms median",
                lat["notify_ms_median"] < 50,
            )
        )
    tp = {t["workers"]: t for t in results.get("throughput") or []}
    if 1 in tp and 2 in tp:
        scale = tp[2]["docs_per_s"] / tp[1]["docs_per_s"]
        out.append(
            Row(
                "(d)",
                f"throughput, {tp[2]['documents']} small documents",
                f"{tp[2]['docs_per_s']:.2f}/s with 2",
                f"{tp[1]['docs_per_s']:.2f}/s with 1",
                _x(scale),
                "near-linear (>= 1.7x on 2 cores)",
                scale >= 1.7,
            )
        )
    for r in results.get("api") or []:
        out.append(
            Row(
                "(e)",
                f"{r['action']}, {r['threads']} SDK threads",
                f"{r['req_per_s']:.0f} req/s",
                f"p50 {_ms(r['latency_ms_median'])}, p99 {_ms(r['latency_ms_p99'])}",
                "",
                "(reported)",
                None if not r["errors"] else False,
            )
        )
    mem = results.get("memory")
    if mem and mem.get("rss_mib_after"):
        marks = sorted(mem["rss_mib_after"], key=int)
        first = next((m for m in marks if int(m) >= 50), marks[0])
        start = mem["rss_mib_after"][first].get("pool", 0.0)
        end = mem["rss_mib_after"][marks[-1]].get("pool", 0.0)
        growth = end / start if start else 0.0
        out.append(
            Row(
                "(f)",
                f"converting process RSS over {mem['documents']} documents",
                f"{end:.0f} MiB after {marks[-1]}",
                f"{start:.0f} MiB after {first}",
                _x(growth),
                "flat (<= 1.10x)",
                bool(start) and growth <= 1.10,
            )
        )
        if "soffice" in mem["peak_mib"]:
            out.append(
                Row(
                    "(f)",
                    f"its soffice, peak ({mem['soffice_processes_seen']} processes seen)",
                    f"{mem['peak_mib']['soffice']:.0f} MiB",
                    "",
                    "",
                    "bounded (recycled every 200 documents)",
                    None,
                )
            )
    out += _mns_rows(results.get("mns"))
    return out


def _mns_rows(mns: dict[str, Any] | None) -> list[Row]:
    if not mns:
        return []
    out = [
        Row(
            "(g)",
            f"MNS {r['operation']}, {r['threads']} SDK threads",
            f"{r['req_per_s']:.0f} req/s",
            f"p50 {_ms(r['latency_ms_median'])}, p99 {_ms(r['latency_ms_p99'])}",
            "",
            "(reported)",
            None if not r["errors"] else False,
        )
        for r in mns.get("rates") or []
    ]
    h = mns.get("handoff") or {}
    if h.get("ms_median") is not None:
        out.append(
            Row(
                "(g)",
                f"MNS publish -> long-polling consumer, {h['messages']} messages",
                f"p50 {_ms(h['ms_median'])}",
                f"p99 {_ms(h['ms_p99'])}",
                "",
                "p50 < 50 ms",
                h["ms_median"] < 50,
            )
        )
    return out


def table(items: Sequence[Row]) -> str:
    header = ("", "measure", "ours", "reference", "ratio", "goal", "met")
    body = [
        (r.section, r.measure, r.ours, r.reference, r.ratio, r.goal, _met(r.met)) for r in items
    ]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(widths[i]) for i, c in enumerate(header)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip() for row in body]
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def _met(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "NO")
