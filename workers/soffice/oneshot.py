"""A one-off `soffice --convert-to pdf`, for Word files the warm LibreOffice cannot open.

Binary Word files with comments (doc, wps, rtf, ...) abort a LibreOffice 7.4 without GUI
when they are loaded over UNO (see workers/soffice/comments.py), but convert fine from the
command line, which loads and exports without ever creating the comment windows. Such files
(found by `comments.binary_has_comments`) are converted this way: a fresh soffice with its
own profile in the task's directory (about 2-4 s). Without `ShowComments` straight to PDF
(the whole document, no comments); with it to docx, whose comments `comments.rewrite` turns
into text before the warm LibreOffice converts it like any docx.
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


#: Output type -> LibreOffice's `--convert-to` argument.
TARGETS = {"pdf": "pdf:writer_pdf_Export", "docx": "docx:MS Word 2007 XML"}


def to_pdf(binary: str, src: Path, workdir: Path, timeout_s: float) -> Path:
    """Convert `src` to PDF with a one-off soffice; the PDF's path."""
    return convert(binary, src, workdir, timeout_s, "pdf")


def convert(binary: str, src: Path, workdir: Path, timeout_s: float, target: str) -> Path:
    """Convert `src` to `target` (pdf, docx) with a one-off soffice; the output's path."""
    out_dir = workdir / "oneshot"
    profile = workdir / "oneshot-profile"
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [
        binary, "--headless", "--invisible", "--nocrashreport", "--nodefault", "--nologo",
        "--nofirststartwizard", "--norestore", "--nolockcheck",
        f"-env:UserInstallation={profile.as_uri()}",
        "--convert-to", TARGETS[target], "--outdir", str(out_dir), str(src),
    ]  # fmt: skip
    env = {**os.environ, "SAL_USE_VCLPLUGIN": "svp", "HOME": str(profile)}
    started = time.monotonic()
    code = _run(args, env, timeout_s)
    if code == EXIT_RESTART:  # a fresh profile was initialised: soffice asks to be run again
        code = _run(args, env, max(1.0, timeout_s - (time.monotonic() - started)))
    result = out_dir / f"{src.stem}.{target}"
    if code != 0 or not result.exists() or result.stat().st_size == 0:
        raise TaskFailure(
            "ConverterCrashed",
            f"LibreOffice could not convert the document (exit status {code} after "
            f"{time.monotonic() - started:.1f} s).",
        )
    return result


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
