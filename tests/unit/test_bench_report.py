"""The benchmark's headline table and chart, from a results document (no service needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bench import chart, summary
from bench.latency import parse_end_time
from bench.util import percentile


def case(doc: str, target: str, ours: float, warm: float, cold: float | None) -> dict[str, Any]:
    return {
        "doc": doc,
        "target": target,
        "pages": 1,
        "ours": {"median_s": ours},
        "warm": {"median_s": warm},
        "cold": None if cold is None else {"median_s": cold},
        "ours_over_warm": round(ours / warm, 2),
        "cold_over_ours": None if cold is None else round(cold / ours, 2),
    }


RESULTS: dict[str, Any] = {
    "started_at": "2026-11-23T10:00:00+00:00",
    "cpus": 2,
    "libreoffice": "4:7.4.7",
    "conversion": [
        case("simple.docx", "pdf", 0.11, 0.10, 1.3),
        case("fake.doc", "pdf", 0.06, 0.04, 1.4),
        case("vodafone.xlsx", "png", 0.15, 0.14, 1.3),
        case("handbook-872p.docx", "pdf", 3.4, 3.3, 4.5),
    ],
    "pdf": [
        {
            "doc": "DA-619p.pdf",
            "pages": 619,
            "ours_ms_per_page": 21.0,
            "bare_ms_per_page": 20.0,
            "ours_over_bare": 1.05,
        }
    ],
    "latency": {
        "tasks": 3,
        "notify_ms_median": 2.5,
        "poll_ms_mean": 510.0,
        "notify_samples_ms": [2.0, 2.5, 3.0],
        "poll_samples_ms": [100.0, 510.0, 920.0],
    },
    "throughput": [
        {"workers": 1, "documents": 40, "seconds": 8.0, "docs_per_s": 5.0},
        {"workers": 2, "documents": 40, "seconds": 4.4, "docs_per_s": 9.1},
    ],
    "api": [
        {
            "action": "GetTask",
            "threads": 4,
            "req_per_s": 400.0,
            "latency_ms_median": 9.0,
            "latency_ms_p99": 20.0,
            "errors": 0,
        }
    ],
    "memory": {
        "documents": 500,
        "peak_mib": {"pool": 101.0, "soffice": 260.0},
        "rss_mib_after": {"10": {"pool": 95.0}, "50": {"pool": 97.0}, "500": {"pool": 99.0}},
        "soffice_processes_seen": 3,
        "series": [[0, {"pool": 90.0, "soffice": 200.0}], [500, {"pool": 99.0}]],
    },
}


def test_headline_rows_judge_each_goal() -> None:
    rows = {(r.section, r.measure.split(",")[0]): r for r in summary.rows(RESULTS)}
    small = rows[("(a)", "small documents")]
    # ratios 1.1, 1.5, 1.07 -> median 1.1: within 1.15x
    assert small.ratio.startswith("1.10x") and "max 1.50x" in small.ratio and small.met is True
    assert rows[("(a)", "handbook-872p.docx -> pdf (1 pages)")].met is True
    cold = rows[("(a)", "cold soffice --convert-to / ours")]
    assert cold.ratio.startswith("8.67x") and cold.met is True  # 1.3 / 0.15, the worst case
    assert rows[("(b)", "DA-619p.pdf -> png")].met is True
    assert rows[("(c)", "finished -> client knows")].met is True
    tp = rows[("(d)", "throughput")]
    assert tp.ratio == "1.82x" and tp.met is True
    assert rows[("(e)", "GetTask")].met is None
    mem = rows[("(f)", "converting process RSS over 500 documents")]
    assert mem.ratio == "1.02x" and mem.met is True  # 99 / 97
    assert "NO" not in summary.table(list(rows.values()))


@pytest.mark.parametrize(
    ("patch", "section"),
    [
        ({"latency": {**RESULTS["latency"], "notify_ms_median": 75.0}}, "(c)"),
        (
            {
                "throughput": [
                    RESULTS["throughput"][0],
                    {**RESULTS["throughput"][1], "docs_per_s": 6.0},
                ]
            },
            "(d)",
        ),
        (
            {
                "memory": {
                    **RESULTS["memory"],
                    "rss_mib_after": {"50": {"pool": 90.0}, "500": {"pool": 150.0}},
                }
            },
            "(f)",
        ),
        ({"pdf": [{**RESULTS["pdf"][0], "ours_over_bare": 1.3}]}, "(b)"),
    ],
)
def test_a_missed_goal_is_marked(patch: dict[str, Any], section: str) -> None:
    rows = [r for r in summary.rows({**RESULTS, **patch}) if r.section == section]
    assert rows and rows[0].met is False
    assert "NO" in summary.table(rows)


def test_missing_sections_give_no_rows() -> None:
    assert summary.rows({}) == []
    assert summary.table([]).count("\n") == 1  # header and rule only


def test_chart_is_a_png_of_the_documented_size(tmp_path: Path) -> None:
    out = chart.draw(RESULTS, tmp_path / "c.png")
    with Image.open(out) as img:
        img.load()
        assert img.format == "PNG"
        assert img.size == (1600, 900)
        # Not a blank canvas: the bars and lines put many colours on it.
        assert len(img.convert("RGB").getcolors(maxcolors=1 << 16) or []) > 20


def test_chart_of_partial_results_still_renders(tmp_path: Path) -> None:
    out = chart.draw({"latency": RESULTS["latency"]}, tmp_path / "p.png")
    with Image.open(out) as img:
        assert img.size == (1600, 900)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1970-01-01T00:00:01.500000Z", 1.5),
        ("2026-11-23T10:00:00.000001Z", 1795428000.000001),
    ],
)
def test_end_time_parses_to_unix_seconds(text: str, expected: float) -> None:
    assert parse_end_time(text) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 50, None),
        ([5.0], 99, 5.0),
        ([1, 2, 3, 4], 50, 2),
        ([1, 2, 3, 4], 95, 4),
        ([3, 1, 2], 0, 1),
    ],
)
def test_percentile_nearest_rank(values: list[float], q: float, expected: float | None) -> None:
    assert percentile(values, q) == expected


def test_cold_row_without_bare_warm_runs() -> None:
    """--methods ours,cold: no ours/warm ratio, yet the cold comparison is still judged."""
    no_warm = {**case("simple.docx", "pdf", 0.1, 0.1, 1.2), "warm": None, "ours_over_warm": None}
    rows = summary.rows({"conversion": [no_warm]})
    assert [(r.section, r.ratio, r.met) for r in rows] == [("(a)", "12.00x faster at least", True)]


def test_mns_rows() -> None:
    mns = {
        "rates": [
            {"operation": "SendMessage", "threads": 4, "req_per_s": 630.3,
             "latency_ms_median": 5.56, "latency_ms_p99": 16.9, "errors": 0},
            {"operation": "ReceiveMessage", "threads": 4, "req_per_s": 474.8,
             "latency_ms_median": 8.0, "latency_ms_p99": 19.4, "errors": 2},
        ],
        "handoff": {"messages": 50, "ms_median": 60.0, "ms_p99": 90.0, "ms_max": 99.0},
    }  # fmt: skip
    rows = [r for r in summary.rows({"mns": mns}) if r.section == "(g)"]
    assert [r.met for r in rows] == [None, False, False]  # errors, and p50 over 50 ms
    assert rows[0].ours == "630 req/s"
    assert "p50 < 50 ms" in summary.table(rows)
