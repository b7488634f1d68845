"""`make bench`: imm-engine end to end vs. bare warm LibreOffice vs. cold `soffice --convert-to`.

The three methods are measured one after the other, never at the same time: our service
(then stopped), then a bare warm soffice (then stopped), then cold conversions. Within a method
the documents are taken round-robin, run after run, so a burst of load elsewhere on the machine
spreads over all of them instead of spoiling one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import BenchError
from bench.raw import DPI, WarmOffice, cold_convert
from bench.report import METHODS, Case, table, write_json
from bench.service import Receiver, Service, drop_proxies

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
DEFAULT_DOCS = (
    "simple.docx",
    "page-breaks.docx",
    "vodafone.xlsx",
    "sample-presentation.pptx",
    "fake.doc",
    "handbook-872p.docx",
)
#: Left out by --quick.
LARGE_DOCS = frozenset({"handbook-872p.docx"})
WARMUP_DOC = "simple.docx"
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    p.add_argument("--quick", action="store_true", help=f"skip {', '.join(sorted(LARGE_DOCS))}")
    p.add_argument("--runs", type=int, default=5, help="runs per case, ours and bare warm (5)")
    p.add_argument(
        "--cold-runs", type=int, default=None, help="runs per case for cold (default: min(3, N))"
    )
    p.add_argument("--docs", default="", help="comma-separated corpus file names")
    p.add_argument("--targets", default="pdf,png", help="comma-separated: pdf,png")
    p.add_argument(
        "--methods", default=",".join(METHODS), help="comma-separated subset of ours,warm,cold"
    )
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help=f"({DEFAULT_CORPUS})")
    p.add_argument(
        "--timeout", type=float, default=900.0, help="seconds allowed per conversion (900)"
    )
    p.add_argument(
        "--json", type=Path, default=RESULTS_DIR / "latest.json", help="where to write the JSON"
    )
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    if args.cold_runs is None:
        args.cold_runs = min(3, args.runs)
    if args.cold_runs < 1:
        p.error("--cold-runs must be at least 1")
    args.targets = _list(args.targets)
    if not args.targets or set(args.targets) - {"pdf", "png"}:
        p.error("--targets: choose from pdf,png")
    args.methods = _list(args.methods)
    if not args.methods or set(args.methods) - set(METHODS):
        p.error(f"--methods: choose from {','.join(METHODS)}")
    docs = _list(args.docs) or list(DEFAULT_DOCS)
    if args.quick:
        docs = [d for d in docs if d not in LARGE_DOCS]
    if not docs:
        p.error("no documents left to measure")
    missing = [d for d in docs if not (args.corpus / d).is_file()]
    if missing:
        p.error(f"not in {args.corpus}: {', '.join(missing)}")
    args.docs = docs
    return args


def _list(text: str) -> list[str]:
    return list(dict.fromkeys(x.strip() for x in text.split(",") if x.strip()))


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def warmup_source(args: argparse.Namespace) -> Path:
    """A small .docx to warm LibreOffice with before measuring."""
    if (args.corpus / WARMUP_DOC).is_file():
        return args.corpus / WARMUP_DOC
    small = [d for d in args.docs if d.endswith(".docx") and d not in LARGE_DOCS]
    return args.corpus / (small[0] if small else args.docs[0])


def measure_ours(args: argparse.Namespace, cases: list[Case], workdir: Path) -> list[str]:
    notes: list[str] = []
    receiver = Receiver().start()
    service = Service(workdir / "service", RESULTS_DIR / "service.log", receiver)
    try:
        progress(f"[ours] starting imm-engine up (API port {service.port}) ...")
        service.start()
        for doc in args.docs:
            service.add_source(args.corpus / doc)
        warm_key = service.add_source(warmup_source(args), "_warmup.docx")
        started = time.perf_counter()
        service.convert(warm_key, "pdf", "warmup", args.timeout)
        progress(f"[ours] warm-up conversion done in {time.perf_counter() - started:.3f} s")
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
                progress(
                    f"[ours] run {run}/{args.runs} {case.doc} -> {case.target}: {out.seconds:.3f} s"
                )
    finally:
        try:
            code = service.stop()
        finally:
            receiver.stop()
    if code not in (0, None):
        notes.append(
            f"`imm-engine up` exited with status {code} after SIGINT (log: {service.log_path})"
        )
    if receiver.malformed:
        notes.append(
            f"{len(receiver.malformed)} malformed webhook deliveries, first: "
            f"{receiver.malformed[0]}"
        )
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


def libreoffice_version() -> str:
    for package in ("libreoffice-core-nogui", "libreoffice-core"):
        try:
            out = subprocess.run(
                ["dpkg-query", "-W", "-f=${Version}", package],
                capture_output=True,
                text=True,
                timeout=10,
            )
        except (OSError, subprocess.TimeoutExpired):
            break
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    return "unknown"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    drop_proxies(os.environ)  # the SDK would send 127.0.0.1 traffic to a proxy
    cases = [Case(doc, target) for doc in args.docs for target in args.targets]
    meta: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": ["python", "-m", "bench.run", *(sys.argv[1:] if argv is None else argv)],
        "runs": args.runs,
        "cold_runs": args.cold_runs,
        "docs": args.docs,
        "targets": args.targets,
        "methods": args.methods,
        "corpus": str(args.corpus),
        "png_dpi": DPI,
        "libreoffice": libreoffice_version(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    notes: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="imm-bench-"))
    try:
        (workdir / "src").mkdir()
        for doc in {*args.docs, warmup_source(args).name}:
            shutil.copyfile(args.corpus / doc, workdir / "src" / doc)
        measure = {"ours": measure_ours, "warm": measure_warm, "cold": measure_cold}
        for method in METHODS:
            if method in args.methods:
                notes += measure[method](args, cases, workdir)
    except BenchError as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    notes += page_notes(cases)
    meta["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    meta["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    write_json(args.json, cases, meta, notes)
    print(table(cases, args.runs, args.cold_runs))
    print(
        f"\nmedians in seconds; PNG = every page at {DPI} DPI; "
        f"load average {meta['loadavg_at_start'][0]} at start, "
        f"{meta['loadavg_at_end'][0]} at end, {meta['cpus']} CPUs; JSON: {args.json}"
    )
    for note in notes:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
