"""A one-off `soffice --convert-to pdf`, for Word files the warm LibreOffice cannot open.

Binary Word files with comments (doc, wps, rtf, ...) abort a LibreOffice 7.4 without GUI
when they are loaded over UNO (see workers/soffice/comments.py), but convert fine from the
command line, which loads and exports without ever creating the comment windows. Such files
(found by `comments.binary_has_comments`) are converted this way: a fresh soffice with its
own profile in the task's directory (about 2-4 s). Without `ShowComments` straight to PDF
(the whole document, no comments); with it to docx, whose comments `comments.rewrite` turns
into text before the warm LibreOffice converts it like any docx.

It gets everything the warm one has: the hardened profile (process.REGISTRY: no macros, no
links followed, every fetch to a dead proxy), the sandbox (it sees only a copy of the
document, its profile and a private /tmp: workers/isolation/sandbox.py) and the memory bound.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from imm_engine.errors import TaskFailure
from imm_engine.tasktypes.office.formats import SOURCE_TYPES, Family
from workers.isolation.memwatch import MemoryWatch, descendant, exceeded
from workers.isolation.sandbox import Policy
from workers.soffice.comments import ODF_TYPES, OOXML_TYPES
from workers.soffice.process import (
    EXCHANGE_INSIDE,
    KILLED_FROM_OUTSIDE,
    PROFILE_INSIDE,
    ending_signal,
    soffice_env,
    write_profile,
)

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


def to_pdf(
    binary: str, src: Path, workdir: Path, timeout_s: float, policy: Policy | None = None
) -> Path:
    """Convert `src` to PDF with a one-off soffice; the PDF's path."""
    return convert(binary, src, workdir, timeout_s, "pdf", policy)


def convert(
    binary: str,
    src: Path,
    workdir: Path,
    timeout_s: float,
    target: str,
    policy: Policy | None = None,
) -> Path:
    """Convert `src` to `target` (pdf, docx) with a one-off soffice; the output's path."""
    policy = policy or Policy()
    base = workdir / "oneshot-run"
    shutil.rmtree(base, ignore_errors=True)
    exchange, profile, tmp = base / "work", base / "profile", base / "tmp"
    for d in (exchange / "out", tmp):
        d.mkdir(parents=True)
    write_profile(profile)
    inbox = exchange / f"source{src.suffix}"
    shutil.copyfile(src, inbox)
    policy.own(base)
    if policy.enabled:
        where = {exchange: EXCHANGE_INSIDE, profile: PROFILE_INSIDE}
    else:
        where = {exchange: str(exchange), profile: str(profile)}
    env = soffice_env(where[profile], binary)
    args = [
        binary, "--headless", "--invisible", "--nocrashreport", "--nodefault", "--nologo",
        "--nofirststartwizard", "--norestore", "--nolockcheck",
        f"-env:UserInstallation={Path(where[profile]).as_uri()}",
        "--convert-to", TARGETS[target], "--outdir", f"{where[exchange]}/out",
        f"{where[exchange]}/{inbox.name}",
    ]  # fmt: skip
    args = policy.command(
        args,
        binds=[(profile, PROFILE_INSIDE), (tmp, "/tmp"), (exchange, EXCHANGE_INSIDE)],
        chdir=EXCHANGE_INSIDE,
        env=env,
    )
    if not policy.enabled:
        env = {**os.environ, **env}
    log = base / "soffice.log"
    started = time.monotonic()
    code, hit = _run(args, env, timeout_s, policy, log)
    if code == EXIT_RESTART and not hit:  # a fresh profile was initialised: run it again
        code, hit = _run(args, env, max(1.0, timeout_s - (time.monotonic() - started)), policy, log)
    made = exchange / "out" / f"{inbox.stem}.{target}"
    if hit:
        raise exceeded("The document", policy.memory_bytes)
    signo = ending_signal(code, policy.enabled)
    if signo in KILLED_FROM_OUTSIDE:
        raise TaskFailure(
            "ConverterCrashed",
            f"LibreOffice was killed from outside ({signal.Signals(signo).name}) while "
            "converting the document; the document is not at fault.",
            infrastructure=True,
        )
    if code != 0 or not made.exists() or made.stat().st_size == 0:
        raise TaskFailure(
            "ConverterCrashed",
            f"LibreOffice could not convert the document (exit status {code} after "
            f"{time.monotonic() - started:.1f} s).",
        )
    result = workdir / "oneshot" / f"{src.stem}.{target}"
    result.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(made, result)
    shutil.rmtree(base, ignore_errors=True)
    return result


def _run(
    args: list[str], env: dict[str, str], timeout_s: float, policy: Policy, log: Path
) -> tuple[int, bool]:
    """Exit status, and whether the run hit the memory bound."""
    with open(log, "ab") as stderr:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
            start_new_session=True,
        )
    watch = MemoryWatch(lambda: descendant(proc.pid, "soffice.bin"), policy.memory_bytes, log)
    with watch:
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise TaskFailure(
                "ConvertTimeout", f"The conversion did not finish within {timeout_s:.0f} s."
            ) from None
    return code, code not in (0, EXIT_RESTART) and watch.hit()
