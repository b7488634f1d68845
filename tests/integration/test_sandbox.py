"""LibreOffice in its sandbox, under its memory bound (workers/isolation/sandbox.py), for real.

Documents that link a sentinel outside the task's directory (a PDF and a PNG of pure
magenta) and a loopback listener convert without showing either: no sentinel text, no
magenta pixel, no connection. A document that needs more memory than the bound fails with
InvalidFile.MemoryLimitExceeded (not retried), and the same soffice slot converts the next
document. With IMM_SANDBOX=off and no stripping, the same documents do embed the sentinel
(measured when this was written: odt/odp/docx SVG pictures, odp linked images, RTF
INCLUDEPICTURE), which is what makes these tests able to fail.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pymupdf
import pytest

from imm_engine.errors import TaskFailure
from imm_engine.tasktypes.office.pages import ALL
from tests.support.hostile_docs import LINKING, MARKER, big_table_docx
from tests.support.needs import need
from tests.support.paths import FIXTURES
from workers.isolation.sandbox import Policy, check
from workers.soffice import comments, oneshot
from workers.soffice.converter import Converter

pytestmark = [pytest.mark.soffice]

SENTINEL_TEXT = "SENTINEL-PDF-5150"


def need_bwrap() -> None:
    need(shutil.which("bwrap") is not None, "bubblewrap (run `make deps`)")
    need(shutil.which("soffice") is not None, "LibreOffice (run `make deps`)")


class Listener:
    """A loopback HTTP server recording every request (any method) it receives."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(f"{self.command} {self.path}")
                self.send_response(404)
                self.end_headers()

            do_HEAD = do_OPTIONS = do_POST = do_PROPFIND = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sentinels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Files outside any task directory: a PDF page and a PNG, both pure magenta."""
    where = tmp_path_factory.mktemp("other-tenant")
    doc = pymupdf.open()
    page = doc.new_page(width=600, height=400)
    page.draw_rect(page.rect, color=(1, 0, 1), fill=(1, 0, 1))
    page.insert_text((50, 200), SENTINEL_TEXT, fontsize=40, color=(0, 0, 0))
    doc.save(where / "secret.pdf")
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 300, 200), 0)
    pix.set_rect(pix.irect, (255, 0, 255))
    pix.save(str(where / "secret.png"))
    return {"pdf": where / "secret.pdf", "png": where / "secret.png"}


def make_converter(base: Path, memory_mib: int = 2048) -> Converter:
    conv = Converter(
        binary="",
        profile_base=base / "soffice",
        start_timeout_s=60,
        convert_timeout_s=120,
        restart_after=0,
        policy=Policy(mode="bwrap", memory_mib=memory_mib),
    )
    conv.start()
    return conv


@pytest.fixture(scope="module")
def converter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Converter]:
    need_bwrap()
    conv = make_converter(tmp_path_factory.mktemp("sandboxed"))
    yield conv
    conv.close()


def magenta_pixels(doc: pymupdf.Document) -> int:
    count = 0
    for page in doc:
        pix = page.get_pixmap(dpi=30, alpha=False)
        data, n = pix.samples, pix.n
        count += sum(
            1
            for i in range(0, len(data), n)
            if data[i] > 230 and data[i + 1] < 40 and data[i + 2] > 230
        )
    return count


@pytest.mark.parametrize("secret", ["pdf", "png"])
@pytest.mark.parametrize("name", list(LINKING))
def test_linking_document_shows_nothing_from_outside(
    converter: Converter,
    listener: Listener,
    sentinels: dict[str, Path],
    tmp_path: Path,
    name: str,
    secret: str,
) -> None:
    make, filename = LINKING[name]
    src = tmp_path / filename
    src.write_bytes(make(str(sentinels[secret]), listener.url))
    before = len(listener.requests)
    out = tmp_path / "out.pdf"
    converter.to_pdf(src, out, password="", selection=ALL, map_sheets=False)
    with pymupdf.open(out) as doc:
        text = "".join(page.get_text() for page in doc)
        assert MARKER in text  # the document itself converted
        assert SENTINEL_TEXT not in text
        assert magenta_pixels(doc) == 0, "the sentinel's pixels are in the output"
    assert listener.requests[before:] == []
    assert list(converter.office.exchange.iterdir()) == []  # nothing left for the next task


def test_sandbox_shows_only_its_own_directories(tmp_path: Path, listener: Listener) -> None:
    need_bwrap()
    outside = tmp_path / "outside.txt"
    outside.write_text("not for the sandbox")
    work = tmp_path / "work"
    work.mkdir()
    policy = Policy()
    policy.own(work)
    port = int(listener.url.rsplit(":", 1)[1])
    probe = (
        "import os, socket\n"
        "print(sorted(os.listdir('/')))\n"
        "print(sorted(os.listdir('/etc')))\n"
        f"print(os.path.exists({str(outside)!r}), os.getuid(), os.path.exists('/proc/1'))\n"
        "s = socket.socket()\n"
        f"try:\n    s.connect(('127.0.0.1', {port})); print('connected')\n"
        "except OSError as e:\n    print('refused', e.errno)\n"
        "open('/imm/work/written', 'w').write('ok')\n"
    )
    cmd = policy.command(
        ["/usr/bin/python3", "-c", probe], binds=[(work, "/imm/work")], env={"PATH": "/usr/bin"}
    )
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    top, etc, facts, net = done.stdout.splitlines()
    assert set(eval(top)) <= {"bin", "dev", "etc", "imm", "lib", "lib64", "sbin", "tmp", "usr",
                              "var", "lib32", "libx32"}  # fmt: skip
    assert "shadow" not in eval(etc) and "ssh" not in eval(etc)
    assert facts == "False 65534 False"  # no outside file, nobody, no other process
    assert net.startswith("refused")
    assert (work / "written").read_text() == "ok"


def test_memory_bound_fails_the_document_clearly_and_the_next_one_converts(
    tmp_path: Path,
) -> None:
    """The 100,000 x 20 table (past the sniff cap, which this level does not apply) under a
    1 GiB bound: InvalidFile.MemoryLimitExceeded, not retryable; the slot recovers."""
    need_bwrap()
    conv = make_converter(tmp_path, memory_mib=1024)
    try:
        big = tmp_path / "big-table.docx"
        big.write_bytes(big_table_docx())
        with pytest.raises(TaskFailure) as failed:
            conv.to_pdf(big, tmp_path / "big.pdf", password="", selection=ALL, map_sheets=False)
        assert failed.value.code == "InvalidFile.MemoryLimitExceeded", failed.value
        assert not failed.value.retryable
        assert "IMM_MAX_PROCESS_MEMORY" in failed.value.message
        small = tmp_path / "small.odt"
        small.write_bytes(LINKING["odt-linked"][0]("/nonexistent", "http://127.0.0.1:9"))
        conv.to_pdf(small, tmp_path / "small.pdf", password="", selection=ALL, map_sheets=False)
        assert (tmp_path / "small.pdf").stat().st_size > 0
    finally:
        conv.close()


def test_check_names_what_to_install_when_bwrap_cannot_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workers.isolation.sandbox import SandboxUnavailable

    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap, no prlimit on this PATH
    with pytest.raises(SandboxUnavailable, match="IMM_MAX_PROCESS_MEMORY=0"):
        check(Policy(), tmp_path / "scratch")
    with pytest.raises(SandboxUnavailable, match=r"bubblewrap.*IMM_SANDBOX=off"):
        check(Policy(memory_mib=0), tmp_path / "scratch")


def test_one_off_soffice_is_sandboxed_too(
    tmp_path: Path, sentinels: dict[str, Path], listener: Listener
) -> None:
    """A Word file with a comment goes through the one-off `soffice --convert-to`
    (workers/soffice/oneshot.py). Here an RTF with a comment and INCLUDEPICTURE fields,
    given straight to it (the RTF field neutraliser in front is not applied): without the
    sandbox it embeds the magenta sentinel."""
    need_bwrap()
    base = (FIXTURES / "comments.rtf").read_bytes()
    end = base.rfind(b"}")
    fields = (
        f'{{\\field{{\\*\\fldinst INCLUDEPICTURE "{sentinels["png"]}" \\\\d}}{{\\fldrslt }}}}'
        f'{{\\field{{\\*\\fldinst INCLUDEPICTURE "{listener.url}/one.png" \\\\d}}'
        f"{{\\fldrslt }}}}\\par {MARKER}\\par "
    ).encode()
    src = tmp_path / "commented.doc"
    src.write_bytes(base[:end] + fields + base[end:])
    assert comments.binary_has_comments(src)
    before = len(listener.requests)
    out = oneshot.convert(
        "/usr/lib/libreoffice/program/soffice.bin", src, tmp_path, 120, "pdf", Policy()
    )
    with pymupdf.open(out) as doc:
        assert MARKER in "".join(page.get_text() for page in doc)
        assert magenta_pixels(doc) == 0
    assert listener.requests[before:] == []
    assert not (tmp_path / "oneshot-run").exists()  # its copy and profile are gone


def test_renderer_in_the_pool_process_hits_its_bound_as_memory_error() -> None:
    """PyMuPDF renders in the Celery pool process, bounded by bound_this_process: a page too
    big for the bound raises MemoryError (the runner fails the task with
    InvalidFile.MemoryLimitExceeded) and the next render works. In a child interpreter, so
    the bound does not reach this test process."""
    code = (
        "from pathlib import Path\n"
        "import pymupdf\n"
        "from workers.isolation.sandbox import Policy, bound_this_process\n"
        "from workers.processors import pdf_render\n"
        "bound_this_process(Policy(memory_mib=300))\n"
        "doc = pymupdf.open(); doc.new_page(width=14400, height=14400)\n"
        "try:\n"
        "    pdf_render.render(doc, 0, Path('/dev/null'), fmt='png', dpi=50, scale=100,"
        " quality=None)\n"
        "    print('rendered')\n"
        "except MemoryError:\n"
        "    print('MemoryError')\n"
        "print(pdf_render.render(doc, 0, Path('/dev/null'), fmt='png', dpi=5, scale=100,"
        " quality=None))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["MemoryError", "(1000, 1000)"]
