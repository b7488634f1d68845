"""LibreOffice really hangs (SIGSTOP) or really dies (SIGKILL) in the middle of a conversion:
the conversion fails with a clear code, soffice is replaced, the next conversion works, and a
document that brought soffice down twice is quarantined (real Redis)."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pymupdf
import pytest
import redis

from imm_engine.errors import TaskFailure
from imm_engine.state.keys import Keys
from imm_engine.tasktypes.office.pages import ALL
from tests.support.needs import need
from tests.support.soffice_procs import find_soffice, freeze, gone, wait_soffice
from workers.failures.quarantine import QUARANTINED, Quarantine, digest
from workers.failures.retry import retry_delay
from workers.soffice.converter import Converter

pytestmark = [pytest.mark.soffice]


@pytest.fixture()
def converter(tmp_path: Path) -> Iterator[Converter]:
    need(shutil.which("soffice") is not None, "LibreOffice (run `make deps`)")
    conv = Converter(
        binary="",
        profile_base=tmp_path / "soffice",
        start_timeout_s=90,
        convert_timeout_s=60,
        restart_after=0,
    )
    conv.start()
    conv._desktop()  # warm: a fault below hits a conversion, not the start
    yield conv
    conv.close()


def document(tmp_path: Path, words: str) -> Path:
    """A small text document with unique bytes."""
    path = tmp_path / f"{uuid.uuid4().hex}.txt"
    path.write_text(f"{words}\n{uuid.uuid4()}\n", encoding="utf-8")
    return path


def pdf_text(path: Path) -> str:
    with pymupdf.open(path) as pdf:
        return "".join(page.get_text() for page in pdf)


def the_soffice(conv: Converter) -> int:
    """The converter's soffice.bin, found in /proc by its private pipe name."""
    pid = wait_soffice(f"pipe,name={conv.office.pipe};")
    assert pid == conv.office.soffice_pid()
    return pid


def convert_while_killed(
    conv: Converter, src: Path, out: Path, signo: int = signal.SIGKILL
) -> TaskFailure:
    """Freeze soffice, start converting `src`, then send it `signo` while the conversion waits
    on it: SIGKILL is a kill from outside (the OOM killer, an operator), SIGSEGV a crash of
    LibreOffice itself in the middle of loading the document.

    The conversion runs on this (the main) thread, as in a worker: soffice is started with a
    parent-death signal bound to the thread that starts it, and a restart after the crash
    starts the next one from here."""
    conv.office.wait_ready(90)  # a soffice restarted after an earlier fault is warm again
    pid = the_soffice(conv)
    freeze(pid)

    def kill() -> None:
        os.kill(pid, signo)
        if signo != signal.SIGKILL:
            os.kill(pid, signal.SIGCONT)  # a stopped process takes other signals when resumed

    killer = threading.Timer(1.5, kill)
    killer.start()
    started = time.monotonic()
    try:
        conv.to_pdf(src, out, password="", selection=ALL)
    except TaskFailure as failure:
        assert time.monotonic() - started >= 1.4, "failed before soffice was killed"
        return failure
    finally:
        killer.join()
    raise AssertionError("the conversion succeeded on a killed soffice")


def test_hung_soffice_times_out_is_replaced_and_the_next_conversion_works(
    converter: Converter, tmp_path: Path
) -> None:
    converter.convert_timeout_s = 3
    hung = the_soffice(converter)
    freeze(hung)  # a real hang: soffice stops answering
    started = time.monotonic()
    with pytest.raises(TaskFailure) as info:
        converter.to_pdf(document(tmp_path, "hang"), tmp_path / "a.pdf", password="", selection=ALL)
    took = time.monotonic() - started
    assert info.value.code == "ConvertTimeout"
    assert not info.value.retryable and retry_delay(info.value, 1) is None
    assert 3 <= took < 20, took
    assert gone(hung), "the hung soffice was not killed"

    converter.convert_timeout_s = 60
    fresh = the_soffice(converter)
    assert fresh != hung and converter.restarts == 1
    converter.to_pdf(
        document(tmp_path, "after the hang"), tmp_path / "b.pdf", password="", selection=ALL
    )
    assert "after the hang" in pdf_text(tmp_path / "b.pdf")


def test_soffice_crashing_mid_conversion_is_a_retryable_crash(
    converter: Converter, tmp_path: Path
) -> None:
    first = the_soffice(converter)
    failure = convert_while_killed(
        converter, document(tmp_path, "crash"), tmp_path / "a.pdf", signal.SIGSEGV
    )
    assert failure.code == "ConverterCrashed" and not failure.infrastructure
    assert failure.retryable and retry_delay(failure, 1) == 2.0
    assert retry_delay(failure, 2) is None  # retried once only
    assert gone(first)

    converter.to_pdf(
        document(tmp_path, "after the crash"), tmp_path / "b.pdf", password="", selection=ALL
    )
    assert "after the crash" in pdf_text(tmp_path / "b.pdf")
    assert converter.office.pid != first


def test_soffice_killed_from_outside_is_an_infrastructure_fault(
    converter: Converter, tmp_path: Path
) -> None:
    """SIGKILL (the OOM killer, an operator, a deploy) is not the document's fault: the task
    gets the larger budget, two such kills in a row included (issue 15.4)."""
    first = the_soffice(converter)
    failure = convert_while_killed(converter, document(tmp_path, "crash"), tmp_path / "a.pdf")
    assert failure.code == "ConverterCrashed" and failure.infrastructure
    assert "killed from outside (SIGKILL)" in failure.message
    assert failure.retryable and retry_delay(failure, 2, 2) is not None
    assert gone(first)

    converter.to_pdf(
        document(tmp_path, "after the crash"), tmp_path / "b.pdf", password="", selection=ALL
    )
    assert "after the crash" in pdf_text(tmp_path / "b.pdf")
    assert converter.office.pid != first


@pytest.fixture()
def quarantine(redis_url: str) -> Iterator[Quarantine]:
    keys = Keys(f"immtest{uuid.uuid4().hex[:8]}")
    client = redis.Redis.from_url(redis_url)
    yield Quarantine(client, keys, threshold=2, ttl_s=3600)
    for key in client.scan_iter(f"{keys.prefix}*"):
        client.delete(key)


def crash_under_guard(
    quarantine: Quarantine, converter: Converter, src: Path, out: Path, signo: int = signal.SIGSEGV
) -> TaskFailure:
    with pytest.raises(TaskFailure) as info, quarantine.guard(src, f"T-{out.stem}"):
        raise convert_while_killed(converter, src, out, signo)
    return info.value


def test_document_that_kills_soffice_twice_is_quarantined(
    converter: Converter, quarantine: Quarantine, tmp_path: Path
) -> None:
    poison = document(tmp_path, "poison")
    sha = digest(poison)

    # first crash: counted, still retryable (it may be transient)
    first = crash_under_guard(quarantine, converter, poison, tmp_path / "1.pdf")
    assert first.code == "ConverterCrashed" and first.retryable
    assert quarantine.strikes(sha) == 1

    # second crash on the same bytes (another copy, another name): quarantined, final
    copy = tmp_path / "renamed.txt"
    shutil.copyfile(poison, copy)
    second = crash_under_guard(quarantine, converter, copy, tmp_path / "2.pdf")
    assert second.code == "ConverterCrashed"
    assert not second.retryable and retry_delay(second, 1) is None
    assert "quarantined" in second.message
    assert quarantine.strikes(sha) == 2
    ttl = int(quarantine.r.ttl(quarantine.keys.quarantine(sha)))  # type: ignore[arg-type]
    assert 0 < ttl <= 3600

    # third time: refused at once, LibreOffice never asked
    soffice = the_soffice(converter)
    converted = converter.converted
    started = time.monotonic()
    with pytest.raises(TaskFailure) as info, quarantine.guard(poison, "T-3"):
        converter.to_pdf(poison, tmp_path / "3.pdf", password="", selection=ALL)
    assert info.value.code == QUARANTINED and not info.value.retryable
    assert retry_delay(info.value, 1) is None
    assert time.monotonic() - started < 1.0
    assert converter.converted == converted and not (tmp_path / "3.pdf").exists()
    assert find_soffice(f"pipe,name={converter.office.pipe};") == [soffice]

    # the next, different document on the same converter succeeds
    other = document(tmp_path, "a healthy document")
    with quarantine.guard(other, "T-4"):
        converter.to_pdf(other, tmp_path / "4.pdf", password="", selection=ALL)
    assert "a healthy document" in pdf_text(tmp_path / "4.pdf")
    assert quarantine.strikes(digest(other)) == 0

    # lifting the quarantine
    assert quarantine.release(sha)
    quarantine.check(sha)


def test_other_failures_are_not_strikes(
    converter: Converter, quarantine: Quarantine, tmp_path: Path
) -> None:
    src = document(tmp_path, "x")
    with pytest.raises(TaskFailure), quarantine.guard(src, "T"):
        raise TaskFailure("InvalidFile", "damaged")
    assert quarantine.strikes(digest(src)) == 0


def test_kills_from_outside_are_no_strike_and_a_success_clears_strikes(
    converter: Converter, quarantine: Quarantine, tmp_path: Path
) -> None:
    good = document(tmp_path, "a good document")
    sha = digest(good)
    for n in (1, 2, 3):  # killed three times in a row: never quarantined
        failure = crash_under_guard(
            quarantine, converter, good, tmp_path / f"{n}.pdf", signal.SIGKILL
        )
        assert failure.infrastructure and "quarantined" not in failure.message
        assert quarantine.counts(sha) == (0, 0)
    crash_under_guard(quarantine, converter, good, tmp_path / "4.pdf")  # one real crash
    assert quarantine.strikes(sha) == 1
    with quarantine.guard(good, "T-5"):  # then it converts: not poison, strikes gone
        converter.to_pdf(good, tmp_path / "5.pdf", password="", selection=ALL)
    assert quarantine.counts(sha) == (0, 0)


def test_worker_losses_count_only_when_they_repeat(quarantine: Quarantine, tmp_path: Path) -> None:
    """A run that finds its marker knows its worker died mid-conversion (cause unknown): an
    infrastructure fault of the task, and a loss of the document; 2 x threshold losses of
    the same bytes quarantine them (a document that kills its worker process itself)."""
    lost: list[str] = []
    quarantine.on_worker_lost = lost.append
    src = document(tmp_path, "x")
    sha = digest(src)
    for n in range(1, 4):
        quarantine.r.set(quarantine.keys.converting(sha, f"T{n}"), "1")
        with quarantine.guard(src, f"T{n}"):
            pass  # the conversion succeeds this time
    # each of those runs succeeded: losses cleared; now four losses without a success
    assert lost == ["T1", "T2", "T3"] and quarantine.counts(sha) == (0, 0)
    for n in range(4, 8):
        quarantine.r.set(quarantine.keys.converting(sha, f"T{n}"), "1")
        with pytest.raises(TaskFailure) as info, quarantine.guard(src, f"T{n}"):
            raise TaskFailure("InvalidFile", "stand-in for a run that failed otherwise")
        if n < 7:
            assert info.value.code == "InvalidFile"
    assert info.value.code == "ConverterCrashed" and "quarantined" in info.value.message
    with pytest.raises(TaskFailure) as refused, quarantine.guard(src, "T8"):
        pass
    assert refused.value.code == QUARANTINED
