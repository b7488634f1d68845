"""A one-off `soffice --convert-to pdf`, for Word files the warm LibreOffice cannot open.

Binary Word files with comments (doc, wps, rtf, ...) abort a LibreOffice 7.4 without GUI
when they are loaded over UNO (see workers/soffice/comments.py), but convert fine from the
command line, which loads and exports without ever creating the comment windows. Such files
(found by `comments.binary_has_comments`) are converted this way: a fresh soffice with its
own profile in the task's directory (about 2-4 s), the whole document, no comments shown.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from imm_engine.errors import TaskFailure
from imm_engine.formats import SOURCE_TYPES, Family
from workers.soffice.comments import ODF_TYPES, OOXML_TYPES

EXIT_RESTART = 81


def applies(source_type: str, password: str) -> bool:
    """Word sources whose comments we cannot rewrite ourselves, not encrypted (a password
    cannot be given on the command line)."""
    return (
        SOURCE_TYPES.get(source_type) == Family.WORD
        and source_type not in OOXML_TYPES | ODF_TYPES
        and not password
    )


def to_pdf(binary: str, src: Path, workdir: Path, timeout_s: float) -> Path:
    """Convert `src` to PDF with a one-off soffice; the PDF's path."""
    out_dir = workdir / "oneshot"
    profile = workdir / "oneshot-profile"
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [
        binary, "--headless", "--invisible", "--nocrashreport", "--nodefault", "--nologo",
        "--nofirststartwizard", "--norestore", "--nolockcheck",
        f"-env:UserInstallation={profile.as_uri()}",
        "--convert-to", "pdf:writer_pdf_Export", "--outdir", str(out_dir), str(src),
    ]  # fmt: skip
    env = {**os.environ, "SAL_USE_VCLPLUGIN": "svp", "HOME": str(profile)}
    started = time.monotonic()
    code = _run(args, env, timeout_s)
    if code == EXIT_RESTART:  # a fresh profile was initialised: soffice asks to be run again
        code = _run(args, env, max(1.0, timeout_s - (time.monotonic() - started)))
    pdf = out_dir / f"{src.stem}.pdf"
    if code != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        raise TaskFailure(
            "ConverterCrashed",
            f"LibreOffice could not convert the document (exit status {code} after "
            f"{time.monotonic() - started:.1f} s).",
        )
    return pdf


def _run(args: list[str], env: dict[str, str], timeout_s: float) -> int:
    proc = subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    try:
        return proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise TaskFailure(
            "ConvertTimeout", f"The conversion did not finish within {timeout_s:.0f} s."
        ) from None
