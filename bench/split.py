"""(g) Split page rendering (issue 12): large documents to PNG with 1 and 2 worker processes,
split and not split; time to the first page; small documents (the threshold).

Runnable alone: `.venv/bin/python -m bench.split [--runs N] [--workers 1,2] ...`.
For each configuration (worker processes x split off/on) one `imm-engine up` is started and
every document is converted `--runs` times to PNG (96 DPI). "split on" forces splitting of
everything above one range (IMM_SPLIT_MIN_PAGES=2), so the small sizes show where splitting
starts to pay: that is how the default IMM_SPLIT_MIN_PAGES was chosen. "split off" is
IMM_SPLIT_MIN_PAGES=0. Total = SDK call until the completion notification; first page = SDK
call until `1.png` exists in storage (polled every 5 ms). Medians are printed as a Markdown
table (docs/benchmarks.md, "Split page rendering") and every sample goes to
bench/results/split.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pymupdf

from bench import BenchError
from bench.service import Service, running
from bench.util import median, progress

ROOT = Path(__file__).resolve().parent
CORPUS = ROOT.parent / "tests" / "corpus"
LARGE = ("DA-619p.pdf", "handbook-872p.docx")
SMALL = ("multi-column-2p.pdf",)
#: Subsets of DA-619p.pdf (its first N pages), for the threshold.
SIZES = (20, 40, 60, 100)


def subset(src: Path, pages: int, out: Path) -> Path:
    with pymupdf.open(src) as doc:
        doc.select(list(range(min(pages, doc.page_count))))
        doc.save(out)
    return out


class FirstPage:
    """Watches for `<bucket>/out/<name>/1.png` and notes when it appears."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            if self.path.exists():
                self.at = time.perf_counter()
                return
            time.sleep(0.005)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def convert(service: Service, key: str, label: str, timeout: float) -> dict[str, float]:
    barename = key.rsplit(".", 1)[0]
    first = FirstPage(service.bucket / "out" / f"{barename}-{label}" / "1.png")
    try:
        sub = service.submit(key, "png", label)
        out = service.wait(sub, timeout)
    finally:
        first.stop()
    service.clear_outputs()
    first_s = first.at - sub.started if first.at is not None else float("nan")
    return {"total_s": out.seconds, "first_page_s": first_s, "pages": out.page_count}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--runs", type=int, default=3, help="conversions per document (3)")
    p.add_argument("--workers", default="1,2", help="worker process counts (1,2)")
    p.add_argument("--range-pages", type=int, default=20, help="IMM_SPLIT_RANGE_PAGES (20)")
    p.add_argument("--sizes", default=",".join(map(str, SIZES)), help="small PDF sizes")
    p.add_argument("--no-large", action="store_true", help="skip the 619/430-page documents")
    p.add_argument("--timeout", type=float, default=900)
    p.add_argument("--out", type=Path, default=ROOT / "results" / "split.json")
    p.add_argument("--note", default="", help="a note kept with the results (e.g. 'under load')")
    args = p.parse_args(argv)

    workers = [int(w) for w in args.workers.split(",") if w]
    sizes = [int(s) for s in args.sizes.split(",") if s]
    samples: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="imm-bench-split-") as tmp:
        work = Path(tmp)
        sources: list[Path] = [CORPUS / d for d in SMALL]
        sources += [subset(CORPUS / "DA-619p.pdf", n, work / f"DA-first{n}p.pdf") for n in sizes]
        if not args.no_large:
            sources += [CORPUS / d for d in LARGE]
        for n_workers in workers:
            for split in (False, True):
                env = {
                    "IMM_KEY_PREFIX": f"immsplitbench{os.getpid()}",
                    "IMM_SPLIT_MIN_PAGES": "2" if split else "0",
                    "IMM_SPLIT_RANGE_PAGES": str(args.range_pages),
                }
                label = f"{n_workers}w-{'split' if split else 'whole'}"
                with running(
                    work / label,
                    ROOT / "results" / f"service-split-{label}.log",
                    label,
                    concurrency=n_workers,
                    extra_env=env,
                ) as service:
                    for src in sources:
                        key = service.add_source(src)
                        convert(service, key, "warmup", args.timeout)  # warm soffice/caches
                        for run in range(args.runs):
                            got = convert(service, key, f"r{run}", args.timeout)
                            progress(f"[{label}] {key}: {got['total_s']:.2f} s")
                            samples.append(
                                {"doc": key, "workers": n_workers, "split": split, **got}
                            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"note": args.note, "samples": samples}, indent=1))
    print(table(samples, workers))
    return 0


def table(samples: list[dict[str, Any]], workers: list[int]) -> str:
    docs = list(dict.fromkeys(s["doc"] for s in samples))
    heads = [f"{w}w {'split' if sp else 'whole'}" for w in workers for sp in (False, True)]
    lines = [
        "| document | pages | " + " | ".join(f"{h} total / first page (s)" for h in heads) + " |",
        "|---|---:|" + "---:|" * len(heads),
    ]
    for doc in docs:
        cells = []
        pages = 0
        for w in workers:
            for sp in (False, True):
                got = [
                    s for s in samples if s["doc"] == doc and s["workers"] == w and s["split"] == sp
                ]
                pages = pages or (got[0]["pages"] if got else 0)
                total = median([s["total_s"] for s in got])
                first = median([s["first_page_s"] for s in got])
                cells.append(
                    "-"
                    if total is None
                    else f"{total:.2f} / {first if first is not None else 0:.2f}"
                )
        lines.append(f"| {doc} | {pages} | " + " | ".join(cells) + " |")
    for doc in docs:
        one = median(
            [
                s["total_s"]
                for s in samples
                if s["doc"] == doc and s["workers"] == 1 and not s["split"]
            ]
        )
        two = median(
            [s["total_s"] for s in samples if s["doc"] == doc and s["workers"] == 2 and s["split"]]
        )
        if one and two:
            lines.append(f"\n{doc}: 2 workers split vs 1 worker whole: {one / two:.2f}x")
    return "\n".join(lines)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench.split: {exc}", file=sys.stderr)
        sys.exit(1)
