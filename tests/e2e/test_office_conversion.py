"""CreateOfficeConversionTask through the official SDK, against real LibreOffice and PyMuPDF."""

from __future__ import annotations

import io
from typing import Any

import pymupdf
import pytest
from alibabacloud_imm20200930 import models as m
from PIL import Image

from tests.support.e2e_service import BUCKET
from tests.support.service import Service

pytestmark = [pytest.mark.e2e, pytest.mark.soffice, pytest.mark.corpus]


def targets(delivery: Any) -> list[str]:
    return [t["URI"] for t in delivery.content["Targets"]]


def image(service: Service, uri: str) -> Image.Image:
    data = service.object(uri).read_bytes()
    img = Image.open(io.BytesIO(data))
    img.load()  # decodes the whole image, not only the header
    return img


@pytest.mark.parametrize(
    ("source", "pages"),
    [
        ("page-breaks.docx", 6),  # explicit page breaks: 6 pages in LibreOffice and Word
        ("handbook-1p.docx", 2),
        ("sample-presentation.pptx", 4),  # 4 slides
        ("2023-half-year-analyses-by-segment.xlsx", 5),  # 5 sheets, one page each
        ("fake.doc", 1),
        ("tests-example.xls", 4),
        ("fake-power-point.ppt", 1),
        ("fake.odt", 1),
        ("fake-doc.rtf", 1),
    ],
)
def test_office_to_pdf_has_every_page(
    convert: Any, service: Service, source: str, pages: int
) -> None:
    task_id, delivery = convert(source, "pdf")

    content = delivery.content
    assert content["Status"] == "Succeeded", content
    assert content["TaskId"] == task_id
    [uri] = targets(delivery)
    assert uri.endswith(".pdf")
    with pymupdf.open(service.object(uri)) as pdf:
        assert pdf.page_count == pages
    assert content["PageCount"] == pages


def test_docx_to_png_one_decodable_image_per_page(convert: Any, service: Service) -> None:
    _, as_pdf = convert("page-breaks.docx", "pdf")
    with pymupdf.open(service.object(targets(as_pdf)[0])) as pdf:
        sizes = [(p.rect.width, p.rect.height) for p in pdf]

    _, delivery = convert("page-breaks.docx", "png", image_dpi=96)

    uris = targets(delivery)
    assert [u.rsplit("/", 1)[-1] for u in uris] == [f"{i}.png" for i in range(1, 7)]
    for uri, (width, height) in zip(uris, sizes, strict=True):
        img = image(service, uri)
        assert img.format == "PNG"
        assert img.width == pytest.approx(width * 96 / 72, abs=1)
        assert img.height == pytest.approx(height * 96 / 72, abs=1)


def test_docx_text_is_rendered(convert: Any, service: Service) -> None:
    _, delivery = convert("fake.docx", "txt", long_text=True)

    [uri] = targets(delivery)
    text = service.object(uri).read_text(encoding="utf-8")
    assert "Lorem ipsum" in text


def test_spreadsheet_pages_are_named_sheet_and_subpage(convert: Any) -> None:
    _, delivery = convert("tests-example.xls", "png")

    names = [u.rsplit("/", 1)[-1] for u in targets(delivery)]
    # sheet 1 spans two pages, sheets 2 and 3 one each
    assert names == ["1_1.png", "1_2.png", "2_1.png", "3_1.png"]


def test_sheetname_is_a_template_variable(convert: Any) -> None:
    _, delivery = convert(
        "tests-example.xls",
        "png",
        target_uri=f"oss://{BUCKET}/sheets/{{barename}}/{{sheetname}}-{{index}}.{{autoext}}",
    )
    names = [u.rsplit("/", 1)[-1] for u in targets(delivery)]
    assert names[0] == "Example Test-1_1.png"
    assert names[-1] == "Readme-3_1.png"


def test_pptx_to_jpg_honours_dpi_and_quality(convert: Any, service: Service) -> None:
    _, low = convert("sample-presentation.pptx", "jpg", image_dpi=96, quality=10)
    _, high = convert("sample-presentation.pptx", "jpg", image_dpi=192, quality=95)

    small, big = image(service, targets(low)[0]), image(service, targets(high)[0])
    assert small.format == big.format == "JPEG"
    assert big.width == pytest.approx(small.width * 2, abs=2)
    assert (
        service.object(targets(low)[0]).stat().st_size
        < service.object(targets(high)[0]).stat().st_size
    )


def test_pdf_to_png_pixel_size_follows_dpi(convert: Any, service: Service, corpus: Any) -> None:
    _, delivery = convert("multi-column-2p.pdf", "png", image_dpi=150)

    uris = targets(delivery)
    assert len(uris) == 2
    with pymupdf.open(corpus / "multi-column-2p.pdf") as pdf:
        rect = pdf[0].rect
    img = image(service, uris[0])
    assert img.width == pytest.approx(rect.width * 150 / 72, abs=1)
    assert img.height == pytest.approx(rect.height * 150 / 72, abs=1)


def test_page_range_pages(convert: Any) -> None:
    _, delivery = convert("page-breaks.docx", "png", pages="2,4-5")
    assert [u.rsplit("/", 1)[-1] for u in targets(delivery)] == ["2.png", "4.png", "5.png"]


def test_page_range_start_end(convert: Any) -> None:
    _, delivery = convert("sample-presentation.pptx", "png", start_page=2, end_page=3)
    assert [u.rsplit("/", 1)[-1] for u in targets(delivery)] == ["2.png", "3.png"]


def test_page_range_beyond_the_document_fails_clearly(convert: Any) -> None:
    _, delivery = convert("fake.docx", "png", start_page=5)
    content = delivery.content
    assert content["Status"] == "Failed"
    assert content["Code"] == "InvalidArgument.PageRange"


def test_large_document_page_range_exports_only_those_pages(convert: Any, service: Service) -> None:
    _, delivery = convert("handbook-872p.docx", "png", pages="1-3")
    uris = targets(delivery)
    assert [u.rsplit("/", 1)[-1] for u in uris] == ["1.png", "2.png", "3.png"]
    assert delivery.content["PageCount"] > 400
    image(service, uris[2])


def test_target_uri_prefix_names(convert: Any) -> None:
    _, pngs = convert(
        "sample-presentation.pptx", "png", target_uriprefix=f"oss://{BUCKET}/prefixed/a"
    )
    assert targets(pngs) == [f"oss://{BUCKET}/prefixed/a/{i}.png" for i in range(1, 5)]
    _, pdf = convert(
        "sample-presentation.pptx", "pdf", target_uriprefix=f"oss://{BUCKET}/prefixed/b/"
    )
    assert targets(pdf) == [f"oss://{BUCKET}/prefixed/b/sample-presentation.pdf"]


def test_tags_in_template_and_notification(convert: Any) -> None:
    _, delivery = convert(
        "fake.docx",
        "pdf",
        tags={"customer": "acme", "n": 3},
        user_data='{"file": "x"}',
        target_uri=f"oss://{BUCKET}/{{tags.customer}}/{{dirname}}/{{barename}}.{{autoext}}",
    )
    assert targets(delivery) == [f"oss://{BUCKET}/acme/fake.pdf"]
    assert delivery.content["Tags"] == {"customer": "acme", "n": 3}
    assert delivery.content["UserData"] == '{"file": "x"}'


def test_epub_and_csv_and_html_sources(convert: Any, service: Service) -> None:
    for source in ("winter-sports.epub", "stanley-cups.csv", "fake-html.html", "fake-text.txt"):
        _, delivery = convert(source, "pdf")
        assert delivery.content["Status"] == "Succeeded", (source, delivery.content)
        with pymupdf.open(service.object(targets(delivery)[0])) as pdf:
            assert pdf.page_count >= 1


def test_source_without_extension_needs_source_type(
    convert: Any, service: Service, corpus: Any
) -> None:
    uri = service.put(BUCKET, "noext/document", (corpus / "fake.docx").read_bytes())
    _, delivery = convert(uri, "pdf", source_type="docx")
    assert delivery.content["Status"] == "Succeeded"


def test_get_task_reports_the_finished_task(convert: Any, client: Any) -> None:
    task_id, delivery = convert("fake.docx", "png", tags={"k": "v"}, user_data="hello")
    body = client.get_task(
        m.GetTaskRequest(project_name="test-project", task_type="OfficeConversion", task_id=task_id)
    ).body

    assert body.task_id == task_id
    assert body.task_type == "OfficeConversion"
    assert body.status == "Succeeded"
    assert body.code == "" and body.message == ""
    assert body.progress == 100
    assert body.tags == {"k": "v"}
    assert body.user_data == "hello"
    assert body.start_time.endswith("Z") and body.end_time >= body.start_time
    assert body.event_id == delivery.message["id"]
