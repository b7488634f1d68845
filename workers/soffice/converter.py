"""Office documents to PDF through the process's warm LibreOffice.

One conversion at a time (LibreOffice serialises them anyway). Each conversion runs under a
watchdog: past the timeout soffice is killed, the conversion fails with `ConvertTimeout`, and
a fresh soffice is started at once so the next task finds it warm. A soffice that dies while
converting is restarted too, and the failure is marked retryable. soffice is also recycled
after `restart_after` documents to bound its memory.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imm_engine.errors import TaskFailure
from imm_engine.metrics import registry as metrics
from imm_engine.tasktypes.office.pages import PageSelection
from workers.isolation.memwatch import MemoryWatch
from workers.isolation.sandbox import Policy
from workers.soffice.bridge import import_uno, prop
from workers.soffice.export_options import ExportOptions
from workers.soffice.process import (
    KILLED_FROM_OUTSIDE,
    OfficeProcess,
    ProfileSlot,
    RestartRequested,
    StartFailed,
    find_binary,
)

log = logging.getLogger("imm_engine.soffice")

#: Document service -> PDF export filter.
EXPORT_FILTERS = (
    ("com.sun.star.sheet.SpreadsheetDocument", "calc_pdf_Export"),
    ("com.sun.star.presentation.PresentationDocument", "impress_pdf_Export"),
    ("com.sun.star.drawing.DrawingDocument", "draw_pdf_Export"),
    ("com.sun.star.text.WebDocument", "writer_web_pdf_Export"),
    ("com.sun.star.text.TextDocument", "writer_pdf_Export"),
)
NEVER_EXECUTE_MACROS = 0  # com.sun.star.document.MacroExecMode.NEVER_EXECUTE
NO_UPDATE = 0  # com.sun.star.document.UpdateDocMode.NO_UPDATE


@dataclass
class PdfExport:
    #: Pages of the whole document, as LibreOffice lays it out (0: not counted; the PDF has all).
    page_count: int
    #: Which document pages the PDF holds, in order; None when it holds all of them.
    pages: list[int] | None
    #: Spreadsheets: document page -> (1-based sheet index, sheet name).
    sheets: dict[int, tuple[int, str]] = field(default_factory=dict)


class Converter:
    def __init__(
        self,
        *,
        binary: str,
        profile_base: Path,
        start_timeout_s: float,
        convert_timeout_s: float,
        restart_after: int,
        policy: Policy | None = None,
    ) -> None:
        self.binary = find_binary(binary)
        self.slot = ProfileSlot(profile_base)
        self.start_timeout_s = start_timeout_s
        self.convert_timeout_s = convert_timeout_s
        self.restart_after = restart_after
        self.policy = policy or Policy()
        self.office = OfficeProcess(self.binary, self.slot, start_timeout_s, self.policy)
        self.converted = 0
        self.restarts = 0
        self._start_failures = 0

    def start(self, reason: str = "startup") -> None:
        """Start soffice in the background; the first conversion waits for it if need be.
        `reason` labels imm_soffice_restarts_total (docs/metrics.md)."""
        metrics.soffice_restart(reason)
        self.office.start(fresh_profile=self._start_failures > 0)

    def warm_up(self) -> None:
        """Wait until the soffice started by `start` is ready, starting it again (on this,
        the owning thread) when it exits to finish a fresh profile (status 81); else the
        first task would find no LibreOffice and pay the cold start."""
        for _ in range(3):
            try:
                self.office.wait_ready(self.start_timeout_s)
                return
            except RestartRequested:
                metrics.soffice_restart("profile_init")
                self.office.start()
            except StartFailed as exc:  # the first task tries again and reports it
                log.warning("soffice did not warm up: %s", exc)
                return

    def restart(self, why: str, reason: str) -> None:
        log.info("restarting soffice pid %s: %s", self.office.pid, why)
        self.office.stop(grace_s=2.0)
        self.restarts += 1
        self.converted = 0
        self.start(reason)

    def close(self) -> None:
        self.office.stop()
        self.slot.release()

    def _desktop(self) -> Any:
        """The desktop of a live, warm soffice: waits for one starting, restarts a dead one."""
        for _ in range(3):
            if self.office.proc is None:
                self.start("start_failed")
            try:
                desktop = self.office.wait_ready(self.start_timeout_s)
            except RestartRequested:
                metrics.soffice_restart("profile_init")
                self.office.start()
                continue
            except StartFailed as exc:
                self._start_failures += 1
                killed = self._died() and self.office.exit_signal() in KILLED_FROM_OUTSIDE
                self.office.kill()
                self.office.proc = None
                raise TaskFailure(
                    "ConverterUnavailable",
                    f"LibreOffice could not be started: {exc}",
                    retryable=True,
                    infrastructure=killed,
                ) from exc
            if self.office.alive():
                self._start_failures = 0
                return desktop
            self.restart("it is not running", "died")
        raise TaskFailure(
            "ConverterUnavailable", "LibreOffice could not be started.", retryable=True
        )

    def _died(self, within_s: float = 0.5) -> bool:
        """Whether soffice is dead, allowing for a kill whose process is not reaped yet (the
        bridge sees the pipe close a moment before the process can be waited for)."""
        deadline = time.monotonic() + within_s
        while self.office.alive():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def to_pdf(
        self,
        src: Path,
        out: Path,
        *,
        password: str,
        selection: PageSelection,
        map_sheets: bool = True,
        options: ExportOptions | None = None,
    ) -> PdfExport:
        """Export `src` (only the `selection`) to `out`. `map_sheets`: map spreadsheet pages to
        their sheets (the layout is not counted when neither needs it)."""
        desktop = self._desktop()
        fired = threading.Event()
        # soffice sees only its exchange directory: the task's input goes in, the PDF comes
        # out, and nothing stays for the next task.
        exchange = self.office.exchange
        inbox = exchange / f"source{src.suffix}"
        outbox = exchange / "converted.pdf"
        _empty(exchange)
        shutil.copyfile(src, inbox)
        self.policy.own(exchange)

        def on_timeout() -> None:
            fired.set()
            log.warning(
                "conversion of %s exceeded %.0f s: killing soffice pid %s",
                src.name,
                self.convert_timeout_s,
                self.office.pid,
            )
            self.office.kill()

        watchdog = threading.Timer(self.convert_timeout_s, on_timeout)
        watchdog.daemon = True
        watchdog.start()
        started = time.monotonic()
        watch = MemoryWatch(self.office.soffice_pid, self.policy.memory_bytes, self.office.log_path)
        try:
            with watch:
                result = _export(
                    desktop,
                    self.office.inside(inbox),
                    self.office.inside(outbox),
                    password,
                    selection,
                    map_sheets,
                    options,
                )
            shutil.move(outbox, out)
        except Exception as exc:
            outcome = "timeout" if fired.is_set() else "failed"
            if not fired.is_set() and (_bridge_lost(exc) or self._died()):
                outcome = "crash"
            if not fired.is_set() and watch.hit():
                # Hit the memory bound: the document's fault, every time. Not retried.
                metrics.soffice_export("memory", time.monotonic() - started)
                log.warning(
                    "conversion of %s hit the memory bound (peak VmData %d MiB, RSS %d MiB) "
                    "after %.1f s",
                    src.name,
                    watch.peak // 1024**2,
                    watch.peak_rss // 1024**2,
                    time.monotonic() - started,
                )
                self.restart("it hit the memory bound", "memory")
                raise watch.failure("The document") from exc
            metrics.soffice_export(outcome, time.monotonic() - started)
            # A load that fails because soffice was killed (watchdog) or died is not the
            # document's fault alone: check those first, even when _export named the file.
            if fired.is_set():
                self.restart("conversion timed out", "timeout")
                raise TaskFailure(
                    "ConvertTimeout",
                    f"The conversion did not finish within {self.convert_timeout_s:.0f} s.",
                ) from exc
            # The bridge can report the loss before the dead process can be reaped: a lost
            # bridge is a crash even if soffice still looks alive for a moment.
            if outcome == "crash":
                # The signal is known once the process is reaped: the sandbox's init reports
                # it a moment after the bridge saw the pipe close (longer on a loaded machine).
                signo = self.office.exit_signal() if self._died(within_s=3.0) else None
                self.restart("it died during a conversion", "crash")
                if signo in KILLED_FROM_OUTSIDE:
                    raise TaskFailure(
                        "ConverterCrashed",
                        f"LibreOffice was killed from outside ({signal.Signals(signo).name}) "
                        "while converting the document; the document is not at fault.",
                        infrastructure=True,
                    ) from exc
                raise TaskFailure(
                    "ConverterCrashed",
                    "LibreOffice stopped while converting the document.",
                    retryable=True,
                ) from exc
            if isinstance(exc, TaskFailure):
                raise
            raise TaskFailure(
                "InvalidFile", f"The document cannot be converted: {_uno_message(exc)}"
            ) from exc
        finally:
            watchdog.cancel()
            _empty(exchange)
        log.debug("converted %s in %.3f s", src.name, time.monotonic() - started)
        metrics.soffice_export("ok", time.monotonic() - started)
        self.converted += 1
        if self.restart_after and self.converted >= self.restart_after:
            self.restart(f"recycled after {self.converted} documents", "recycled")
        return result


def _export(
    desktop: Any,
    src: Path,
    out: Path,
    password: str,
    selection: PageSelection,
    map_sheets: bool,
    options: ExportOptions | None = None,
) -> PdfExport:
    uno = import_uno()
    props = [
        prop("Hidden", True),  # LibreOffice 7.4 aborts on spreadsheets loaded visible over UNO
        prop("ReadOnly", not (options and options.hides_sheets)),
        prop("MacroExecutionMode", NEVER_EXECUTE_MACROS),
        prop("UpdateDocMode", NO_UPDATE),
    ]
    if password:
        props.append(prop("Password", password))
    try:
        doc = desktop.loadComponentFromURL(
            uno.systemPathToFileUrl(str(src)), "_blank", 0, tuple(props)
        )
    except Exception as exc:
        if type(exc).__name__ in ("IllegalArgumentException", "IOException"):
            raise TaskFailure("InvalidFile", _open_failure(password)) from exc
        raise
    if doc is None:
        raise TaskFailure("InvalidFile", _open_failure(password))
    try:
        export_filter = next((f for s, f in EXPORT_FILTERS if doc.supportsService(s)), None)
        if export_filter is None:
            raise TaskFailure(
                "UnsupportedSourceType",
                "The document opened, but it is not a text, spreadsheet or presentation document.",
            )
        return _store(uno, doc, export_filter, out, selection, map_sheets, options)
    finally:
        with contextlib.suppress(Exception):  # soffice may be gone; the caller finds out
            doc.close(True)


def _store(
    uno: Any,
    doc: Any,
    export_filter: str,
    out: Path,
    selection: PageSelection,
    map_sheets: bool,
    options: ExportOptions | None = None,
) -> PdfExport:
    if options is not None:
        options.apply(doc, export_filter)
    url = uno.systemPathToFileUrl(str(out))
    is_web = export_filter == "writer_web_pdf_Export"
    is_calc = export_filter == "calc_pdf_Export"
    # The layout's page count is needed to resolve a selection and to map sheets; when
    # neither is asked for, the exported PDF's own page count is the answer (0 here).
    counted = not is_web and (not selection.everything or (is_calc and map_sheets))
    page_count = int(doc.getRendererCount(doc, ())) if counted else 0
    pages: list[int] | None = None
    filter_data = [prop("ExportNotes", False), prop("ExportBookmarks", False)]
    if not is_web and not selection.everything and page_count > 0:
        pages = selection.resolve(page_count)
        if not pages:
            raise TaskFailure(
                "InvalidArgument.PageRange",
                f"The document has {page_count} pages; none of the requested pages exist.",
            )
        filter_data.append(prop("PageRange", ",".join(str(p) for p in pages)))
    data = uno.Any("[]com.sun.star.beans.PropertyValue", tuple(filter_data))
    doc.storeToURL(url, (prop("FilterName", export_filter), prop("FilterData", data)))
    sheets: dict[int, tuple[int, str]] = {}
    if is_calc and map_sheets and page_count:
        names = doc.Sheets.ElementNames
        for page in range(1, page_count + 1):
            rng = {p.Name: p.Value for p in doc.getRenderer(page - 1, doc, ())}.get("SourceRange")
            if rng is not None:
                sheets[page] = (rng.Sheet + 1, names[rng.Sheet] if rng.Sheet < len(names) else "")
    return PdfExport(page_count=page_count, pages=pages, sheets=sheets)


def _empty(directory: Path) -> None:
    """Remove everything in `directory` (soffice's exchange), keeping the directory."""
    for entry in directory.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _open_failure(password: str) -> str:
    if password:
        return (
            "The document cannot be opened: it is damaged, not of its declared type, "
            "or the Password is wrong."
        )
    return "The document cannot be opened: it is damaged or not of its declared type."


def _bridge_lost(exc: BaseException) -> bool:
    """The UNO connection to soffice is gone (soffice died or closed it)."""
    return type(exc).__name__ == "DisposedException" or "bridge disposed" in _uno_message(exc)


def _uno_message(exc: BaseException) -> str:
    text = getattr(exc, "Message", "") or str(exc)
    return text.split(" at ./")[0][:300]
