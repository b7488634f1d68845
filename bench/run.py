"""`make bench`: imm-engine measured side by side with the raw tools, in one run.

(a) one document end to end vs. a bare warm LibreOffice call and a cold `soffice --convert-to`
(b) PDF to PNG per page vs. bare PyMuPDF
(c) notification latency after a task finishes vs. polling GetTask every second
(d) throughput with 1 and 2 worker processes
(e) API requests per second: CreateOfficeConversionTask and GetTask
(f) resident memory of a worker over 500 documents
(g) the built-in MNS with the MNS SDK: send/receive/delete rates, publish -> long-poll consumer

Methods never run at the same time: our service (then stopped), the bare tools, cold
conversions, then the throughput and API services one by one. Prints one table per section,
then the headline ratios against their goals; writes every sample to bench/results/latest.json
and a chart to bench/results/latest.png.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    BenchError,
    api_rate,
    chart,
    conversion,
    latency,
    memory,
    mns,
    pdf_pages,
    summary,
)
from bench import throughput as tput
from bench.raw import DPI
from bench.report import METHODS, Case, table
from bench.service import drop_proxies, running
from bench.util import progress

DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / "tests" / "corpus"
DEFAULT_DOCS = (
    "simple.docx",
    "page-breaks.docx",
    "vodafone.xlsx",
    "sample-presentation.pptx",
    "fake.doc",
    "handbook-872p.docx",
)
RESULTS_DIR = Path(__file__).resolve().parent / "results"
SECTIONS = {
    "a": "conversion",
    "b": "pdf",
    "c": "latency",
    "d": "throughput",
    "e": "api",
    "f": "memory",
    "g": "mns",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="skip the large documents, 100 documents for (f), fewer tasks for (c), (d)",
    )
    p.add_argument(
        "--sections", default="abcdefg", help="which sections, e.g. 'ab' or 'cf' (abcdefg)"
    )
    p.add_argument("--runs", type=int, default=5, help="runs per case, (a) and (b) (5)")
    p.add_argument(
        "--cold-runs", type=int, default=None, help="runs per case for cold (default: min(3, N))"
    )
    p.add_argument("--docs", default="", help="(a): comma-separated corpus file names")
    p.add_argument("--pdfs", default="", help="(b): comma-separated corpus PDF names")
    p.add_argument("--targets", default="pdf,png", help="(a): comma-separated: pdf,png")
    p.add_argument(
        "--methods", default=",".join(METHODS), help="(a): comma-separated subset of ours,warm,cold"
    )
    p.add_argument("--latency-tasks", type=int, default=20, help="(c): tasks (20)")
    p.add_argument("--throughput-docs", type=int, default=100, help="(d): batch size (100)")
    p.add_argument("--api-threads", type=int, default=4, help="(e): SDK client threads (4)")
    p.add_argument("--api-seconds", type=float, default=5.0, help="(e): seconds per action (5)")
    p.add_argument("--memory-docs", type=int, default=500, help="(f): documents (500)")
    p.add_argument("--mns-threads", type=int, default=4, help="(g): SDK client threads (4)")
    p.add_argument("--mns-seconds", type=float, default=5.0, help="(g): seconds per operation (5)")
    p.add_argument("--mns-messages", type=int, default=50, help="(g): publish -> consumer (50)")
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help=f"({DEFAULT_CORPUS})")
    p.add_argument(
        "--timeout", type=float, default=900.0, help="seconds allowed per conversion (900)"
    )
    p.add_argument(
        "--json", type=Path, default=RESULTS_DIR / "latest.json", help="where to write the JSON"
    )
    p.add_argument("--chart", type=Path, default=None, help="PNG chart (the JSON's name, .png)")
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    if args.cold_runs is None:
        args.cold_runs = min(3, args.runs)
    if args.cold_runs < 1:
        p.error("--cold-runs must be at least 1")
    args.sections = "".join(dict.fromkeys(args.sections.lower()))
    if not args.sections or set(args.sections) - set(SECTIONS):
        p.error("--sections: letters from abcdefg")
    args.targets = _list(args.targets)
    if not args.targets or set(args.targets) - {"pdf", "png"}:
        p.error("--targets: choose from pdf,png")
    args.methods = _list(args.methods)
    if not args.methods or set(args.methods) - set(METHODS):
        p.error(f"--methods: choose from {','.join(METHODS)}")
    docs = _list(args.docs) or list(DEFAULT_DOCS)
    pdfs = _list(args.pdfs) or list(pdf_pages.DOCS)
    if args.quick:
        docs = [d for d in docs if d not in conversion.LARGE_DOCS]
        pdfs = [d for d in pdfs if d not in pdf_pages.LARGE_DOCS]
        args.memory_docs = min(args.memory_docs, 100)
        args.latency_tasks = min(args.latency_tasks, 10)
        args.throughput_docs = min(args.throughput_docs, 40)
    if not docs or not pdfs:
        p.error("no documents left to measure")
    needed = [*docs, *pdfs, *(d for d, _ in tput.MIX), *(d for d, _ in memory.MIX)]
    missing = sorted({d for d in needed if not (args.corpus / d).is_file()})
    if missing:
        p.error(f"not in {args.corpus}: {', '.join(missing)}")
    args.docs, args.pdfs = docs, pdfs
    args.chart = args.chart or args.json.with_suffix(".png")
    return args


def _list(text: str) -> list[str]:
    return list(dict.fromkeys(x.strip() for x in text.split(",") if x.strip()))


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


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.cases = [Case(doc, target) for doc in args.docs for target in args.targets]
        self.pdf_cases = [pdf_pages.PdfCase(doc) for doc in args.pdfs]
        self.notes: list[str] = []
        self.results: dict[str, Any] = {}

    def wants(self, letter: str) -> bool:
        return letter in self.args.sections

    def run(self) -> None:
        a = self.args
        if (self.wants("a") and "ours" in a.methods) or any(map(self.wants, "bcf")):
            self.service_phase()
        if self.wants("a") and "warm" in a.methods:
            self.notes += conversion.measure_warm(a, self.cases, self.workdir)
        if self.wants("a") and "cold" in a.methods:
            self.notes += conversion.measure_cold(a, self.cases, self.workdir)
        if self.wants("a"):
            self.notes += conversion.page_notes(self.cases)
            self.results["conversion"] = [c.to_dict() for c in self.cases]
        if self.wants("b"):
            self.results["pdf"] = [c.to_dict() for c in self.pdf_cases]
        if self.wants("d"):
            self.results["throughput"] = [
                tput.measure(
                    n, a.throughput_docs, a.corpus, self.workdir, self.log(f"throughput-{n}"),
                    a.timeout,
                ).to_dict()
                for n in (1, 2)
            ]  # fmt: skip
        if self.wants("e"):
            rates = api_rate.measure(
                self.workdir, self.log("api"), a.api_threads, a.api_seconds, a.corpus
            )
            self.results["api"] = [r.to_dict() for r in rates]
        if self.wants("g"):
            self.results["mns"] = mns.measure(
                self.workdir, self.log("mns"), a.mns_threads, a.mns_seconds, a.mns_messages
            )

    def log(self, name: str) -> Path:
        return RESULTS_DIR / f"service-{name}.log"

    def service_phase(self) -> None:
        """One `imm-engine up` (one worker process) for (a) ours, (b) ours, (c) and (f)."""
        a = self.args
        with running(self.workdir / "service", self.log("main"), "ours", self.notes) as service:
            for doc in {*a.docs, *a.pdfs}:
                service.add_source(a.corpus / doc)
            warm_key = service.add_source(conversion.warmup_source(a), "_warmup.docx")
            started = time.perf_counter()
            service.convert(warm_key, "pdf", "warmup", a.timeout)
            progress(f"[ours] warm-up conversion done in {time.perf_counter() - started:.3f} s")
            if self.wants("a") and "ours" in a.methods:
                self.notes += conversion.measure_ours(a, self.cases, service)
            if self.wants("b"):
                pdf_pages.measure(
                    self.pdf_cases, service, self.workdir / "src", self.workdir, a.runs,
                    a.timeout, self.notes,
                )  # fmt: skip
            if self.wants("c"):
                lat = latency.measure(service, warm_key, a.latency_tasks, a.timeout)
                self.results["latency"] = lat.to_dict()
            if self.wants("f"):
                mem = memory.measure(service, a.corpus, a.memory_docs, a.timeout)
                self.results["memory"] = mem.to_dict()


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def print_report(bench: Bench, meta: dict[str, Any]) -> None:
    a, r = bench.args, bench.results
    if "conversion" in r:
        print(f"(a) one document end to end, medians in seconds; PNG = every page at {DPI} DPI")
        print(table(bench.cases, a.runs, a.cold_runs))
        print()
    if "pdf" in r:
        print("(b) PDF -> PNG, 96 DPI, per page")
        for c in r["pdf"]:
            print(
                f"  {c['doc']:<22} {c['pages']:>4} pages  ours {c['ours_ms_per_page']} ms/page  "
                f"bare PyMuPDF {c['bare_ms_per_page']} ms/page  ratio {c['ours_over_bare']}x"
            )
        print()
    if "latency" in r:
        lat = r["latency"]
        print(
            f"(c) after EndTime, {lat['tasks']} tasks: notification median "
            f"{lat['notify_ms_median']} ms (p95 {lat['notify_ms_p95']}, max "
            f"{lat['notify_ms_max']}); GetTask every 1 s: median {lat['poll_ms_median']} ms, "
            f"mean {lat['poll_ms_mean']} ms\n"
        )
    if "throughput" in r:
        for t in r["throughput"]:
            print(
                f"(d) {t['workers']} worker process(es): {t['documents']} documents in "
                f"{t['seconds']} s = {t['docs_per_s']}/s; CPU ms per document: "
                + ", ".join(f"{k} {v}" for k, v in sorted(t["cpu_ms_per_doc"].items()))
                + f"; {t['cpu_busy']} CPUs busy"
            )
        print()
    if "api" in r:
        for x in r["api"]:
            print(
                f"(e) {x['action']}: {x['req_per_s']} req/s with {x['threads']} SDK threads, "
                f"p50 {x['latency_ms_median']} ms, p99 {x['latency_ms_p99']} ms, "
                f"{x['errors']} errors"
            )
        print()
    if "mns" in r:
        for x in r["mns"]["rates"]:
            print(
                f"(g) MNS {x['operation']}: {x['req_per_s']} req/s with {x['threads']} SDK "
                f"threads, p50 {x['latency_ms_median']} ms, p99 {x['latency_ms_p99']} ms, "
                f"{x['errors']} errors"
            )
        h = r["mns"]["handoff"]
        print(
            f"(g) MNS publish -> long-polling consumer holding it, {h['messages']} messages: "
            f"p50 {h['ms_median']} ms, p99 {h['ms_p99']} ms, max {h['ms_max']} ms\n"
        )
    if "memory" in r:
        mem = r["memory"]
        print(f"(f) RSS in MiB after N documents ({mem['documents']} in all)")
        for n, rss in mem["rss_mib_after"].items():
            print(f"  {n:>4}: " + ", ".join(f"{k} {v}" for k, v in rss.items()))
        print(
            f"  peak: {', '.join(f'{k} {v}' for k, v in mem['peak_mib'].items())}; "
            f"{mem['soffice_processes_seen']} soffice processes seen\n"
        )
    print("Headline ratios")
    print(summary.table(summary.rows({**meta, **r})))
    print(
        f"\nload average {meta['loadavg_at_start'][0]} at start, "
        f"{meta['loadavg_at_end'][0]} at end, {meta['cpus']} CPUs; "
        f"JSON: {a.json}; chart: {a.chart}"
    )
    for note in bench.notes:
        print(f"note: {note}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    drop_proxies(os.environ)  # the SDK would send 127.0.0.1 traffic to a proxy
    meta: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": ["python", "-m", "bench.run", *(sys.argv[1:] if argv is None else argv)],
        "sections": args.sections,
        "runs": args.runs,
        "cold_runs": args.cold_runs,
        "docs": args.docs,
        "pdfs": args.pdfs,
        "targets": args.targets,
        "methods": args.methods,
        "corpus": str(args.corpus),
        "png_dpi": DPI,
        "libreoffice": libreoffice_version(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    workdir = Path(tempfile.mkdtemp(prefix="imm-bench-"))
    bench = Bench(args, workdir)
    try:
        (workdir / "src").mkdir()
        for doc in {*args.docs, *args.pdfs, conversion.warmup_source(args).name}:
            shutil.copyfile(args.corpus / doc, workdir / "src" / doc)
        bench.run()
    except BenchError as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    meta["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    meta["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    document = {**meta, **bench.results, "notes": bench.notes}
    write_json(args.json, document)
    chart.draw(document, args.chart)
    print_report(bench, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
