"""References outside a document are taken out of the task's copy (workers/soffice/links.py),
and packages whose XML expands beyond reason are refused (sniff.xml_expansion_problem)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from tests.support.hostile_docs import LINKING, big_table_docx
from workers.soffice import links, sniff

SECRET = "/srv/storage/other-tenant/secret.pdf"
URL = "http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("ref", "out"),
    [
        ("file:///etc/passwd", True), ("http://x/y.png", True), ("HTTPS://x", True),
        ("/abs/path.png", True), ("\\\\host\\share\\x.png", True), ("../x.png", True),
        ("vnd.sun.star.expand:$x", True), ("smb://h/x", True),
        ("Pictures/x.svg", False), ("#frag", False), ("data:image/png;base64,AA==", False),
        ("./Object 1", False), ("media/image1.png", False),
    ],
)  # fmt: skip
def test_what_counts_as_outside(ref: str, out: bool) -> None:
    assert links.outside(ref) is out


def test_svg_keeps_fragments_and_data_but_not_files_or_urls() -> None:
    text, n = links.svg(
        "<svg><image xlink:href=\"file:///x.pdf\"/><image href='http://h/a.png'/>"
        '<use xlink:href="#a"/><image href="data:image/png;base64,AA=="/></svg>'
    )
    assert n == 2
    assert "file:" not in text and "http:" not in text
    assert 'xlink:href="#a"' in text and "data:image/png" in text


def test_external_relationships_go_except_hyperlinks() -> None:
    text, n = links.relationships(
        '<Relationships><Relationship Id="a" Type="x/image" Target="file:///s.png" '
        'TargetMode="External"/><Relationship Id="b" Type="x/hyperlink" Target="http://h/" '
        'TargetMode="External"/><Relationship Id="c" Type="x/image" Target="media/i.png"/>'
        "</Relationships>"
    )
    assert n == 1
    assert "file:" not in text and 'Id="b"' in text and 'Id="c"' in text


def test_ooxml_fields_that_pull_files_are_emptied() -> None:
    text, n = links.ooxml_fields(
        '<w:fldSimple w:instr=" INCLUDEPICTURE &quot;file:///s.png&quot; "/>'
        '<w:instrText xml:space="preserve"> includeText "/etc/x" </w:instrText>'
        '<w:fldSimple w:instr=" PAGE "/>'
    )
    assert n == 2
    assert "file:" not in text and "/etc/x" not in text and "PAGE" in text


def test_odf_loading_elements_lose_outside_links_hyperlinks_stay() -> None:
    text, n = links.odf(
        '<draw:image xlink:href="file:///s.png"/><draw:image xlink:href="Pictures/a.png"/>'
        '<text:a xlink:href="https://example.com/">link</text:a>'
        '<text:section-source xlink:href="../other.odt"/>'
    )
    assert n == 2
    assert "file:" not in text and "../other" not in text
    assert "Pictures/a.png" in text and "https://example.com/" in text


@pytest.mark.parametrize(
    "name", [n for n in LINKING if LINKING[n][1].endswith(("odt", "odp", "docx"))]
)
def test_generated_packages_lose_every_outside_reference(tmp_path: Path, name: str) -> None:
    make, filename = LINKING[name]
    path = tmp_path / filename
    path.write_bytes(make(SECRET, URL))
    assert links.strip_package(path) >= 2
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        everything = b"".join(z.read(m) for m in z.namelist())
    assert SECRET.encode() not in everything and URL.encode() not in everything
    assert links.strip_package(path) == 0  # nothing left to take


def test_flat_odf_loses_its_links(tmp_path: Path) -> None:
    make, _ = LINKING["fodt-as-doc"]
    path = tmp_path / "x.doc"
    path.write_bytes(make(SECRET, URL))
    assert links.strip_flat(path) == 2
    assert SECRET.encode() not in path.read_bytes()


def test_plain_text_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text('<draw:image xlink:href="file:///s.png"/> is just text here')
    assert links.strip_flat(path) == 0


def test_big_table_is_refused_by_its_xml_expansion(tmp_path: Path) -> None:
    path = tmp_path / "big.docx"
    path.write_bytes(big_table_docx())
    assert sniff.zip_problem(path) is None  # the zip-bomb checks alone let it through
    problem = sniff.xml_expansion_problem(path, 100)
    assert problem and "IMM_MAX_XML_RATIO" in problem and "90 MiB" in problem
    assert sniff.xml_expansion_problem(path, 0) is None  # off


def test_ordinary_packages_pass_the_xml_expansion_check(tmp_path: Path) -> None:
    small = big_table_docx(rows=20_000, cols=20)  # about 19 MB of XML: under the floor
    path = tmp_path / "small.docx"
    path.write_bytes(small)
    assert sniff.xml_expansion_problem(path, 100) is None
    with zipfile.ZipFile(io.BytesIO(small)) as z:
        assert z.getinfo("word/document.xml").file_size > 10 * 1024**2
