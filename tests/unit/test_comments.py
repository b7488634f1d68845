"""Comments of Word and OpenDocument files, rewritten before LibreOffice sees them."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from tests.support.paths import FIXTURES
from workers.soffice import comments


def document_xml(path: Path, part: str = "word/document.xml") -> str:
    with zipfile.ZipFile(path) as z:
        return z.read(part).decode("utf-8")


@pytest.fixture()
def docx(tmp_path: Path) -> Path:
    dest = tmp_path / "c.docx"
    shutil.copyfile(FIXTURES / "comments.docx", dest)
    return dest


def test_docx_comments_removed(docx: Path) -> None:
    assert comments.rewrite(docx, docx, "docx", show=False)
    xml = document_xml(docx)
    assert "commentReference" not in xml and "commentRange" not in xml
    assert "Body text of the commented document." in xml
    assert "WORD-COMMENT-TEXT" not in document_xml(docx, "word/comments.xml")


def test_docx_comments_shown_as_text(docx: Path) -> None:
    assert comments.rewrite(docx, docx, "docx", show=True)
    xml = document_xml(docx)
    assert "commentReference" not in xml
    assert "[Tester: WORD-COMMENT-TEXT]" in xml


def test_docx_parts_and_order_are_kept(docx: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.docx"
    with zipfile.ZipFile(docx) as z:
        before = z.namelist()
    comments.rewrite(docx, out, "docx", show=True)
    with zipfile.ZipFile(out) as z:
        assert z.namelist() == before
        assert z.testzip() is None


def test_files_without_comments_are_left_alone(tmp_path: Path, corpus: Path) -> None:
    src = corpus / "fake.docx"
    assert not comments.rewrite(src, tmp_path / "x.docx", "docx", show=True)
    assert not (tmp_path / "x.docx").exists()


@pytest.mark.parametrize("source_type", ["rtf", "txt", "pptx"])
def test_other_types_are_not_touched(docx: Path, tmp_path: Path, source_type: str) -> None:
    assert not comments.rewrite(docx, tmp_path / "x", source_type, show=True)


def test_damaged_package_is_left_to_libreoffice(tmp_path: Path) -> None:
    bad = tmp_path / "bad.docx"
    bad.write_bytes((FIXTURES / "truncated.docx").read_bytes())
    assert not comments.rewrite(bad, bad, "docx", show=False)


ODT_CONTENT = (
    '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/"><office:body><office:text>'
    '<text:p>Before<office:annotation office:name="c1"><dc:creator>Ann</dc:creator>'
    "<dc:date>2024-01-01</dc:date><text:p>ODT-NOTE</text:p></office:annotation>after"
    '<office:annotation-end office:name="c1"/></text:p>'
    "</office:text></office:body></office:document-content>"
)


@pytest.mark.parametrize(("show", "expected"), [(False, "Beforeafter"), (True, "[Ann: ODT-NOTE]")])
def test_odt_annotations(tmp_path: Path, show: bool, expected: str) -> None:
    odt = tmp_path / "a.odt"
    with zipfile.ZipFile(odt, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", ODT_CONTENT)
    assert comments.rewrite(odt, odt, "odt", show=show)
    xml = document_xml(odt, "content.xml")
    assert "office:annotation" not in xml
    assert expected in xml
    with zipfile.ZipFile(odt) as z:
        assert z.namelist()[0] == "mimetype"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (FIXTURES / "comments.doc", True),
        (FIXTURES / "comments.rtf", True),
        (FIXTURES / "comments.docx", False),  # OOXML: rewritten instead
        (FIXTURES / "truncated.docx", False),
    ],
)
def test_binary_comments_detected(path: Path, expected: bool) -> None:
    assert comments.binary_has_comments(path) is expected


@pytest.mark.parametrize("name", ["fake.doc", "simple.doc", "fake-doc.rtf", "fake-text.txt"])
def test_binary_files_without_comments(corpus: Path, name: str) -> None:
    assert not comments.binary_has_comments(corpus / name)


def test_docx_named_doc_is_rewritten(docx: Path, tmp_path: Path) -> None:
    named_doc = tmp_path / "c.doc"
    shutil.copyfile(docx, named_doc)
    assert comments.rewrite(named_doc, named_doc, "doc", show=False)
    assert "commentReference" not in document_xml(named_doc)
