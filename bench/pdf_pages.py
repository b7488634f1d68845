"""(b) PDF to PNG, per page: our service end to end vs. bare PyMuPDF rendering the same pages
(open, `get_pixmap` at 96 DPI without alpha, save PNG: what the worker does, minus the
service).

The two alternate, run after run (ours, then bare, for each document): PyMuPDF needs no
LibreOffice, the service is idle while the bare rendering runs, and the machine's drift over
minutes (rendering speed varies by +-15% from one minute to the next on this shared VM) then
falls on both alike."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.raw import render_png
from bench.service import Service
from bench.util import median, progress

DOCS = ("multi-column-2p.pdf", "embedded-images.pdf", "DA-619p.pdf")
LARGE_DOCS = frozenset({"DA-619p.pdf"})


@dataclass
class PdfCase:
    doc: str
    pages: int = 0
    ours_s: list[float] = field(default_factory=list)
    bare_s: list[float] = field(default_factory=list)

    def per_page(self, samples: list[float]) -> float | None:
        m = median(samples)
        return m / self.pages if m is not None and self.pages else None

    @property
    def ratio(self) -> float | None:
        ours, bare = median(self.ours_s), median(self.bare_s)
        return ours / bare if ours is not None and bare else None

    def to_dict(self) -> dict[str, Any]:
        ours, bare = self.per_page(self.ours_s), self.per_page(self.bare_s)
        return {
            "doc": self.doc,
            "pages": self.pages,
            "ours_samples_s": [round(x, 4) for x in self.ours_s],
            "bare_samples_s": [round(x, 4) for x in self.bare_s],
            "ours_ms_per_page": None if ours is None else round(ours * 1000, 2),
            "bare_ms_per_page": None if bare is None else round(bare * 1000, 2),
            "ours_over_bare": None if self.ratio is None else round(self.ratio, 3),
        }


def measure(
    cases: list[PdfCase],
    service: Service,
    src: Path,
    workdir: Path,
    runs: int,
    timeout: float,
    notes: list[str],
) -> None:
    for run in range(1, runs + 1):
        for case in cases:
            out = service.convert(case.doc, "png", f"pdfpng-{run}", timeout)
            case.ours_s.append(out.seconds)
            if case.pages and out.page_count != case.pages:
                notes.append(f"(b) {case.doc}: {out.page_count} pages, earlier {case.pages}")
            case.pages = case.pages or out.page_count
            if out.target_count != out.page_count:
                notes.append(f"(b) {case.doc}: {out.target_count} PNGs for {out.page_count} pages")
            bare = bare_render(src / case.doc, workdir / f"pdf-bare-{run}-{case.doc}")
            case.bare_s.append(bare)
            progress(
                f"[pdf] run {run}/{runs} {case.doc}: ours {out.seconds:.3f} s, "
                f"bare PyMuPDF {bare:.3f} s"
            )


def bare_render(pdf: Path, outdir: Path) -> float:
    """Seconds for bare PyMuPDF to render every page of `pdf` into `outdir` (then removed)."""
    outdir.mkdir()
    try:
        started = time.perf_counter()
        render_png(pdf, outdir)
        return time.perf_counter() - started
    finally:
        shutil.rmtree(outdir, ignore_errors=True)
