"""Content sniffing of sources (workers/soffice/sniff.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.soffice.sniff import (
    OLE_HEADERS,
    OLE_MAGIC,
    Kind,
    is_encrypted_ooxml,
    kind_of,
    mismatch,
)

CORPUS = Path(__file__).resolve().parents[1] / "corpus"

# --- kind_of -----------------------------------------------------------------------------

KINDS = [
    # (first bytes, kind)
    pytest.param(b"", Kind.EMPTY, id="empty"),
    pytest.param(b"PK\x03\x04\x14\x00\x06\x00", Kind.ZIP, id="zip-local-header"),
    pytest.param(b"PK\x05\x06" + b"\x00" * 18, Kind.ZIP, id="zip-empty-archive"),
    pytest.param(OLE_MAGIC + b"\x00" * 18 + OLE_HEADERS[0], Kind.OLE, id="ole"),
    pytest.param(OLE_MAGIC + b"\x00" * 18 + OLE_HEADERS[1], Kind.OLE, id="ole-v4"),
    pytest.param(OLE_MAGIC + b"\x00" * 24, Kind.BINARY, id="ole-magic-without-header"),
    pytest.param(OLE_MAGIC + b"\x5a" * 200, Kind.BINARY, id="ole-magic-then-noise"),
    pytest.param(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", Kind.PDF, id="pdf"),
    pytest.param(b"\xef\xbb\xbf  \r\n%PDF-1.4\n", Kind.PDF, id="pdf-after-bom-and-space"),
    pytest.param(b"\x00" * 100 + b"%PDF-1.4\n", Kind.PDF, id="pdf-after-junk"),
    pytest.param(b"\x00" * 1100 + b"%PDF-1.4\n", Kind.BINARY, id="pdf-marker-too-late"),
    pytest.param(b"{\\rtf1\\ansi\\deff0 {\\fonttbl}", Kind.RTF, id="rtf"),
    pytest.param(b"\xef\xbb\xbf{\\rtf1", Kind.RTF, id="rtf-after-bom"),
    pytest.param(b"Name,Team,Year\r\nA,B,1999\r\n", Kind.TEXT, id="csv"),
    pytest.param(b"<!DOCTYPE html><html><body>x</body></html>", Kind.TEXT, id="html"),
    pytest.param("测试文本，中文。\n".encode(), Kind.TEXT, id="utf8-chinese"),
    pytest.param("测试".encode()[:-1], Kind.TEXT, id="utf8-cut-mid-character"),
    pytest.param("Grüße, café\n".encode("latin-1"), Kind.TEXT, id="latin-1"),
    pytest.param("\ufeffhello".encode("utf-16-le"), Kind.TEXT, id="utf-16-le-bom"),
    pytest.param("\ufeffhello".encode("utf-16-be"), Kind.TEXT, id="utf-16-be-bom"),
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", Kind.BINARY, id="png"),
    pytest.param(b"\x80\x01\x02\x03\x04\x05\x06\x07\x08" * 16, Kind.BINARY,
                 id="not-utf8-mostly-control-bytes"),
    pytest.param(b"MZ\x90\x00\x03\x00\x00\x00", Kind.BINARY, id="exe-with-nul"),
]  # fmt: skip


@pytest.mark.parametrize(("head", "kind"), KINDS)
def test_kind_of(head: bytes, kind: Kind) -> None:
    assert kind_of(head) == kind


# --- mismatch ----------------------------------------------------------------------------

ACCEPTED = [
    # (declared type, real kind)
    pytest.param("docx", Kind.ZIP, id="docx-zip"),
    pytest.param("xlsx", Kind.OLE, id="xlsx-ole-encrypted-or-wps"),
    pytest.param("odt", Kind.ZIP, id="odt-zip"),
    pytest.param("epub", Kind.ZIP, id="epub-zip"),
    pytest.param("doc", Kind.OLE, id="doc-ole"),
    pytest.param("doc", Kind.RTF, id="doc-rtf"),
    pytest.param("doc", Kind.TEXT, id="doc-html-or-text"),
    pytest.param("xls", Kind.ZIP, id="xls-really-xlsx"),
    pytest.param("ppt", Kind.OLE, id="ppt-ole"),
    pytest.param("wps", Kind.OLE, id="wps-ole"),
    pytest.param("txt", Kind.TEXT, id="txt-text"),
    pytest.param("csv", Kind.TEXT, id="csv-text"),
    pytest.param("html", Kind.TEXT, id="html-text"),
    pytest.param("rtf", Kind.RTF, id="rtf-rtf"),
    pytest.param("rtf", Kind.TEXT, id="rtf-text"),
    pytest.param("pdf", Kind.PDF, id="pdf-pdf"),
    pytest.param("unknown", Kind.BINARY, id="undeclared-type-not-checked"),
]  # fmt: skip


@pytest.mark.parametrize(("declared", "kind"), ACCEPTED)
def test_mismatch_accepts(declared: str, kind: Kind) -> None:
    assert mismatch(declared, kind) is None


REFUSED = [
    # (declared type, real kind, message)
    pytest.param("docx", Kind.EMPTY, "the file is empty", id="empty"),
    pytest.param("pdf", Kind.EMPTY, "the file is empty", id="empty-pdf"),
    pytest.param("docx", Kind.TEXT, "its content (text) is not that of a .docx file",
                 id="docx-text"),
    pytest.param("docx", Kind.PDF, "its content (pdf) is not that of a .docx file", id="docx-pdf"),
    pytest.param("pptx", Kind.BINARY, "its content (binary) is not that of a .pptx file",
                 id="pptx-binary"),
    pytest.param("doc", Kind.PDF, "its content (pdf) is not that of a .doc file", id="doc-pdf"),
    pytest.param("xls", Kind.BINARY, "its content (binary) is not that of a .xls file",
                 id="xls-binary"),
    pytest.param("txt", Kind.ZIP, "its content (zip) is not that of a .txt file", id="txt-zip"),
    pytest.param("csv", Kind.BINARY, "its content (binary) is not that of a .csv file",
                 id="csv-binary"),
    pytest.param("pdf", Kind.TEXT, "its content (text) is not that of a .pdf file", id="pdf-text"),
    pytest.param("pdf", Kind.ZIP, "its content (zip) is not that of a .pdf file", id="pdf-zip"),
]  # fmt: skip


@pytest.mark.parametrize(("declared", "kind", "message"), REFUSED)
def test_mismatch_refuses(declared: str, kind: Kind, message: str) -> None:
    assert mismatch(declared, kind) == message


# --- is_encrypted_ooxml ------------------------------------------------------------------

SYNTHETIC = [
    # (file content, encrypted)
    pytest.param(OLE_MAGIC + b"\x00" * 64 + "EncryptionInfo".encode("utf-16-le")
                 + b"\x00" * 8 + "EncryptedPackage".encode("utf-16-le"), True, id="both-streams"),
    pytest.param(OLE_MAGIC + "EncryptedPackage".encode("utf-16-le"), False, id="one-stream"),
    pytest.param(OLE_MAGIC + b"EncryptedPackage EncryptionInfo", False, id="ascii-names"),
    pytest.param(b"PK\x03\x04" + "EncryptionInfo".encode("utf-16-le")
                 + "EncryptedPackage".encode("utf-16-le"), False, id="not-ole"),
    pytest.param(b"", False, id="empty"),
]  # fmt: skip


@pytest.mark.parametrize(("content", "encrypted"), SYNTHETIC)
def test_is_encrypted_ooxml_synthetic(tmp_path: Path, content: bytes, encrypted: bool) -> None:
    path = tmp_path / "f.xlsx"
    path.write_bytes(content)
    assert is_encrypted_ooxml(path) is encrypted


CORPUS_FILES = [
    # (corpus file, kind of its first bytes, encrypted OOXML)
    pytest.param("password_protected.xlsx", Kind.OLE, True, id="encrypted-xlsx"),
    pytest.param("fake.doc", Kind.OLE, False, id="plain-ole-doc"),
]  # fmt: skip


@pytest.mark.corpus
@pytest.mark.parametrize(("name", "kind", "encrypted"), CORPUS_FILES)
def test_corpus_files(name: str, kind: Kind, encrypted: bool) -> None:
    path = CORPUS / name
    assert kind_of(path.read_bytes()[:8192]) == kind
    assert is_encrypted_ooxml(path) is encrypted
    assert mismatch(path.suffix[1:], kind) is None


# --- compound_file_problem (hostile input) -----------------------------------------------


def test_sound_compound_files_pass(corpus: Path) -> None:
    from workers.soffice.sniff import compound_file_problem

    for name in ("fake.doc", "tests-example.xls", "fake-power-point.ppt"):
        assert compound_file_problem(corpus / name) is None, name


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(OLE_MAGIC + bytes(18) + OLE_HEADERS[0], id="header-only"),
        pytest.param(OLE_MAGIC + bytes(18) + OLE_HEADERS[0] + bytes(20000), id="zeros"),
        pytest.param(OLE_MAGIC + bytes(18) + OLE_HEADERS[0] + b"\xff" * 20000, id="noise"),
        pytest.param(OLE_MAGIC + bytes(8), id="truncated"),
    ],
)
def test_unsound_compound_files_are_named(tmp_path: Path, data: bytes) -> None:
    from workers.soffice.sniff import compound_file_problem

    path = tmp_path / "x.doc"
    path.write_bytes(data)
    assert compound_file_problem(path)


# --- zip_problem (hostile input) ---------------------------------------------------------


def _zip_of_zeros(path: Path, size: int, name: str = "word/document.xml") -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, z.open(name, "w") as f:
        chunk = bytes(1 << 20)
        for _ in range(size >> 20):
            f.write(chunk)
    return path


def test_zip_bomb_is_named(tmp_path: Path) -> None:
    from workers.soffice.sniff import MAX_RATIO_FLOOR, zip_problem

    bomb = _zip_of_zeros(tmp_path / "bomb.docx", MAX_RATIO_FLOOR + (1 << 20))
    assert bomb.stat().st_size < 1 << 20  # a small file...
    problem = zip_problem(bomb)  # ...that would expand a thousandfold
    assert problem and "expands" in problem


def test_ordinary_packages_pass(tmp_path: Path, corpus: Path) -> None:
    from workers.soffice.sniff import zip_problem

    for name in ("fake.docx", "vodafone.xlsx", "sample-presentation.pptx", "winter-sports.epub"):
        assert zip_problem(corpus / name) is None, name
    assert zip_problem(_zip_of_zeros(tmp_path / "small.docx", 8 << 20)) is None  # 8 MiB: fine
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04" + bytes(100))
    assert zip_problem(tmp_path / "broken.docx") is None  # left to LibreOffice
