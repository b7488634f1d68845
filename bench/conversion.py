"""(a) One document at a time: our service end to end vs. a bare warm LibreOffice vs. a cold
`soffice --convert-to`. The three are measured one after the other, never at the same time;
within a method the documents are taken round-robin, run after run, so a burst of load
elsewhere on the machine spreads over all of them instead of spoiling one."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.raw import WarmOffice, cold_convert
from bench.report import Case
from bench.service import Service
from bench.util import progress

WARMUP_DOC = "simple.docx"
#: Left out by --quick.
LARGE_DOCS = frozenset({"handbook-872p.docx"})


def warmup_source(args: argparse.Namespace) -> Path:
    """A small .docx to warm LibreOffice with before measuring."""
    if (args.corpus / WARMUP_DOC).is_file():
        return args.corpus / WARMUP_DOC
    small = [d for d in args.docs if d.endswith(".docx") and d not in LARGE_DOCS]
    return args.corpus / (small[0] if small else args.docs[0])


def measure_ours(args: argparse.Namespace, cases: list[Case], service: Service) -> list[str]:
    """The service is running and warm; every document is in its bucket."""
    notes: list[str] = []
    for run in range(1, args.runs + 1):
        for case in cases:
            out = service.convert(case.doc, case.target, f"{case.target}-{run}", args.timeout)
            case.samples["ours"].append(out.seconds)
            _record_pages(case, "ours", out.page_count, notes)
            if case.target == "png" and out.target_count != out.page_count:
                notes.append(
                    f"ours: {case.doc} -> png wrote {out.target_count} images for "
                    f"{out.page_count} pages (run {run})"
                )
            what = f"{case.doc} -> {case.target}"
            progress(f"[ours] run {run}/{args.runs} {what}: {out.seconds:.3f} s")
    return notes


def measure_warm(args: argparse.Namespace, cases: list[Case], workdir: Path) -> list[str]:
    notes: list[str] = []
    office = WarmOffice(workdir)
    try:
        progress("[warm] starting a bare soffice.bin ...")
        office.start()
        started = time.perf_counter()
        office.warm_up(workdir / "src" / warmup_source(args).name)
        progress(f"[warm] warm-up done in {time.perf_counter() - started:.3f} s")
        for run in range(1, args.runs + 1):
            for case in cases:
                out = office.convert(workdir / "src" / case.doc, case.target, args.timeout)
                case.samples["warm"].append(out.seconds)
                _record_pages(case, "warm", out.pages, notes)
                progress(
                    f"[warm] run {run}/{args.runs} {case.doc} -> {case.target}: {out.seconds:.3f} s"
                )
    finally:
        office.stop()
    return notes


def measure_cold(args: argparse.Namespace, cases: list[Case], workdir: Path) -> list[str]:
    notes: list[str] = []
    for run in range(1, args.cold_runs + 1):
        for case in cases:
            out = cold_convert(workdir / "src" / case.doc, case.target, workdir, args.timeout)
            case.samples["cold"].append(out.seconds)
            _record_pages(case, "cold", out.pages, notes)
            progress(
                f"[cold] run {run}/{args.cold_runs} {case.doc} -> {case.target}: "
                f"{out.seconds:.3f} s"
            )
    return notes


def _record_pages(case: Case, method: str, pages: int, notes: list[str]) -> None:
    previous = case.pages.setdefault(method, pages)
    if previous != pages:
        notes.append(
            f"{method}: {case.doc} -> {case.target} gave {pages} pages, earlier {previous}"
        )


def page_notes(cases: list[Case]) -> list[str]:
    notes = []
    for case in cases:
        if len(set(case.pages.values())) > 1:
            found = ", ".join(f"{m} {n}" for m, n in case.pages.items())
            notes.append(f"{case.doc} -> {case.target}: page counts differ ({found})")
    return notes
