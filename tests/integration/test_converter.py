"""The warm LibreOffice of a worker process: conversions, timeouts, crashes, recycling."""

from __future__ import annotations

import os
import shutil
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pymupdf
import pytest

from imm_engine.errors import TaskFailure
from imm_engine.tasktypes.office.pages import ALL, parse_pages
from tests.support.needs import need
from tests.support.paths import FIXTURES
from workers.soffice.converter import Converter

pytestmark = [pytest.mark.soffice, pytest.mark.corpus]


@pytest.fixture()
def converter(tmp_path: Path) -> Iterator[Converter]:
    need(shutil.which("soffice") is not None, "LibreOffice (run `make deps`)")
    conv = Converter(
        binary="",
        profile_base=tmp_path / "soffice",
        start_timeout_s=60,
        convert_timeout_s=60,
        restart_after=0,
    )
    conv.start()
    yield conv
    conv.close()


def pdf_pages(path: Path) -> int:
    with pymupdf.open(path) as pdf:
        return int(pdf.page_count)


def copy(corpus: Path, name: str, tmp_path: Path) -> Path:
    dest = tmp_path / name
    shutil.copyfile(corpus / name, dest)
    return dest


def test_converts_and_reports_pages_and_sheets(
    converter: Converter, corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "x.pdf"
    export = converter.to_pdf(
        copy(corpus, "tests-example.xls", tmp_path), out, password="", selection=ALL
    )
    assert export.page_count == 4
    assert export.pages is None
    assert export.sheets == {
        1: (1, "Example Test"),
        2: (1, "Example Test"),
        3: (2, "Format Abbr."),
        4: (3, "Readme"),
    }
    with pymupdf.open(out) as pdf:
        assert pdf.page_count == 4


def test_exports_only_the_selected_pages(
    converter: Converter, corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "x.pdf"
    export = converter.to_pdf(
        copy(corpus, "page-breaks.docx", tmp_path), out, password="", selection=parse_pages("2,5-9")
    )
    assert export.page_count == 6
    assert export.pages == [2, 5, 6]
    with pymupdf.open(out) as pdf:
        assert pdf.page_count == 3


def test_timeout_kills_soffice_and_the_next_conversion_works(
    converter: Converter, corpus: Path, tmp_path: Path
) -> None:
    converter.convert_timeout_s = 0.5
    big = copy(corpus, "handbook-872p.docx", tmp_path)
    first_pid = converter.office.pid
    with pytest.raises(TaskFailure) as info:
        converter.to_pdf(big, tmp_path / "big.pdf", password="", selection=ALL)
    assert info.value.code == "ConvertTimeout"
    assert not info.value.retryable

    converter.convert_timeout_s = 60
    converter.to_pdf(
        copy(corpus, "fake.docx", tmp_path), tmp_path / "ok.pdf", password="", selection=ALL
    )
    assert pdf_pages(tmp_path / "ok.pdf") == 1
    assert converter.office.pid != first_pid
    assert converter.restarts == 1


def test_crash_is_retryable_and_soffice_comes_back(
    converter: Converter, corpus: Path, tmp_path: Path
) -> None:
    converter.to_pdf(
        copy(corpus, "fake.docx", tmp_path), tmp_path / "warm.pdf", password="", selection=ALL
    )
    pid = converter.office.pid
    assert pid is not None
    killer = threading.Timer(0.3, lambda: os.kill(pid, signal.SIGKILL))
    killer.start()
    with pytest.raises(TaskFailure) as info:
        converter.to_pdf(
            copy(corpus, "handbook-872p.docx", tmp_path),
            tmp_path / "big.pdf",
            password="",
            selection=ALL,
        )
    killer.join()
    assert info.value.code == "ConverterCrashed"
    assert info.value.retryable

    converter.to_pdf(
        copy(corpus, "fake.docx", tmp_path), tmp_path / "ok.pdf", password="", selection=ALL
    )
    assert pdf_pages(tmp_path / "ok.pdf") == 1


def test_soffice_dead_between_tasks_is_restarted(
    converter: Converter, corpus: Path, tmp_path: Path
) -> None:
    converter.to_pdf(
        copy(corpus, "fake.docx", tmp_path), tmp_path / "a.pdf", password="", selection=ALL
    )
    converter.office.kill()
    converter.office.proc.wait()  # type: ignore[union-attr]
    converter.to_pdf(
        copy(corpus, "fake.docx", tmp_path), tmp_path / "b.pdf", password="", selection=ALL
    )
    assert pdf_pages(tmp_path / "b.pdf") == 1


def test_recycled_after_n_documents(converter: Converter, corpus: Path, tmp_path: Path) -> None:
    converter.restart_after = 2
    src = copy(corpus, "fake.docx", tmp_path)
    pids = []
    for i in range(3):
        converter.to_pdf(src, tmp_path / f"{i}.pdf", password="", selection=ALL)
        pids.append(converter.office.pid)
    # the second document is the last of the first soffice, the third is the first of the next
    assert pids[1] != pids[0] and pids[2] == pids[1]
    assert converter.restarts == 1


def test_damaged_document_fails_without_hurting_soffice(
    converter: Converter, corpus: Path, tmp_path: Path
) -> None:
    converter.to_pdf(
        copy(corpus, "fake.docx", tmp_path), tmp_path / "a.pdf", password="", selection=ALL
    )
    pid = converter.office.pid
    src = tmp_path / "t.docx"
    shutil.copyfile(FIXTURES / "truncated.docx", src)
    with pytest.raises(TaskFailure) as info:
        converter.to_pdf(src, tmp_path / "t.pdf", password="", selection=ALL)
    assert info.value.code == "InvalidFile"
    assert converter.office.pid == pid and converter.office.alive()


def test_layout_is_not_counted_when_nothing_needs_it(
    converter: Converter, corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "x.pdf"
    src = copy(corpus, "tests-example.xls", tmp_path)
    export = converter.to_pdf(src, out, password="", selection=ALL, map_sheets=False)
    assert (export.page_count, export.pages, export.sheets) == (0, None, {})
    assert pdf_pages(out) == 4
