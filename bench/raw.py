"""The raw tools doing the same work without our service.

Bare warm: one soffice.bin we start ourselves, driven over UNO from this process (load with
Hidden and ReadOnly, storeToURL with the PDF export filter of the document's kind).
Cold: `soffice --headless --convert-to pdf` with a fresh user profile each run.
For PNG both add PyMuPDF rendering of every page at 96 DPI, as the service does.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymupdf

from bench import BenchError
from workers.soffice.bridge import import_uno, prop
from workers.soffice.process import (
    OfficeProcess,
    ProfileSlot,
    RestartRequested,
    StartFailed,
    find_binary,
)

DPI = 96

#: Document service -> PDF export filter.
EXPORT_FILTERS = (
    ("com.sun.star.sheet.SpreadsheetDocument", "calc_pdf_Export"),
    ("com.sun.star.presentation.PresentationDocument", "impress_pdf_Export"),
    ("com.sun.star.text.TextDocument", "writer_pdf_Export"),
)


@dataclass(frozen=True)
class RawOutcome:
    seconds: float
    pages: int


def render_png(pdf: Path, outdir: Path, dpi: int = DPI) -> int:
    """Every page of `pdf` to outdir/<n>.png (RGB, no alpha, like the service). Page count."""
    zoom = dpi / 72.0
    with pymupdf.open(pdf, filetype="pdf") as doc:
        for number, page in enumerate(doc, 1):
            pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)
            pix.save(str(outdir / f"{number}.png"), output="png")
        return int(doc.page_count)


def pdf_pages(pdf: Path) -> int:
    with pymupdf.open(pdf, filetype="pdf") as doc:
        return int(doc.page_count)


class WarmOffice:
    """A long-running soffice.bin and its UNO desktop. Starting, warming (each module loaded
    once) and stopping it is the worker's own code (workers/soffice/process.py); converting
    is done here, with bare UNO calls."""

    def __init__(self, workdir: Path, start_timeout: float = 120.0) -> None:
        self.workdir = workdir
        self.slot = ProfileSlot(workdir / "warm-profiles")
        self.office = OfficeProcess(find_binary(""), self.slot, start_timeout)
        self.desktop: Any = None
        self.uno = import_uno()

    def start(self) -> None:
        for _attempt in range(3):
            self.office.start()
            try:
                self.desktop = self.office.wait_ready(self.office.start_timeout_s)
                return
            except RestartRequested:
                continue  # it created the profile and wants a restart
            except StartFailed as exc:
                raise BenchError(f"bare soffice did not start: {exc}") from exc
        raise BenchError("soffice kept asking for a restart (status 81)")

    def warm_up(self, sample: Path) -> None:
        """Convert one document, so the measured conversions find soffice warm."""
        self.convert(sample, "pdf", timeout=300)

    def convert(self, src: Path, target: str, timeout: float) -> RawOutcome:
        out = Path(tempfile.mkdtemp(prefix="warm-", dir=self.workdir))
        try:
            pdf = out / "out.pdf"
            started = time.perf_counter()
            with self._watchdog(timeout, src.name):
                self._to_pdf(src, pdf)
            pages = render_png(pdf, out) if target == "png" else 0
            seconds = time.perf_counter() - started
            return RawOutcome(seconds, pages or pdf_pages(pdf))
        finally:
            shutil.rmtree(out, ignore_errors=True)

    def _to_pdf(self, src: Path, pdf: Path) -> None:
        props = (self._prop("Hidden", True), self._prop("ReadOnly", True))
        url = self.uno.systemPathToFileUrl(str(src))
        doc = self.desktop.loadComponentFromURL(url, "_blank", 0, props)
        if doc is None:
            raise BenchError(f"bare soffice could not load {src.name}")
        try:
            export = next((f for s, f in EXPORT_FILTERS if doc.supportsService(s)), None)
            if export is None:
                raise BenchError(f"{src.name}: not a text, spreadsheet or presentation document")
            doc.storeToURL(
                self.uno.systemPathToFileUrl(str(pdf)), (self._prop("FilterName", export),)
            )
        finally:
            with contextlib.suppress(Exception):
                doc.close(True)
        if not pdf.exists():
            raise BenchError(f"bare soffice wrote no PDF for {src.name}")

    @contextlib.contextmanager
    def _watchdog(self, timeout: float, what: str) -> Iterator[None]:
        fired = threading.Event()

        def on_timeout() -> None:
            fired.set()
            self.kill()

        timer = threading.Timer(timeout, on_timeout)
        timer.daemon = True
        timer.start()
        try:
            yield
        except BenchError:
            raise
        except Exception as exc:
            if fired.is_set():
                raise BenchError(f"bare soffice: {what} took over {timeout:.0f} s") from exc
            raise BenchError(f"bare soffice failed on {what}: {exc}") from exc
        finally:
            timer.cancel()

    def _prop(self, name: str, value: Any) -> Any:
        return prop(name, value)

    def kill(self) -> None:
        self.office.kill()

    def stop(self) -> None:
        self.office.stop()
        self.slot.release()
        self.desktop = None


def soffice_wrapper() -> str:
    return shutil.which("soffice") or "/usr/lib/libreoffice/program/soffice"


def cold_convert(src: Path, target: str, workdir: Path, timeout: float) -> RawOutcome:
    """`soffice --headless --convert-to pdf` with a profile of its own (created by this run),
    plus PyMuPDF rendering for PNG; timed from process start to the last file written."""
    run_dir = Path(tempfile.mkdtemp(prefix="cold-", dir=workdir))
    try:
        outdir = run_dir / "out"
        args = [
            soffice_wrapper(), "--headless",
            f"-env:UserInstallation={(run_dir / 'profile').as_uri()}",
            "--convert-to", "pdf", "--outdir", str(outdir), str(src),
        ]  # fmt: skip
        started = time.perf_counter()
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: on timeout we kill exactly it
        )
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise BenchError(f"cold soffice: {src.name} took over {timeout:.0f} s") from None
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        pdf = outdir / f"{src.stem}.pdf"
        if proc.returncode != 0 or not pdf.exists():
            raise BenchError(
                f"cold soffice failed on {src.name} (status {proc.returncode}): "
                f"{' '.join(args)}\n{output.decode(errors='replace')[-2000:]}"
            )
        pages = render_png(pdf, outdir) if target == "png" else 0
        seconds = time.perf_counter() - started
        return RawOutcome(seconds, pages or pdf_pages(pdf))
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
