"""Every CreateOfficeConversionTask option, through the official SDK, with real outcomes.

Fixtures (tests/fixtures, made by make_office_fixtures.py): `sheets.xlsx` has the sheets
Alpha (120 rows x 26 columns of `r<row>c<col>`, many pages), Beta (`BETA-MARK`, a comment
`BETA-COMMENT-TEXT`) and Gamma (`GAMMA-MARK`); `comments.docx` has a comment
`WORD-COMMENT-TEXT`.
"""

from __future__ import annotations

import io
import time
import uuid
from typing import Any

import pymupdf
import pytest
from alibabacloud_imm20200930 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException
from PIL import Image

from tests.support.e2e_service import BUCKET
from tests.support.paths import FIXTURES
from tests.support.service import Service, notification

pytestmark = [pytest.mark.e2e, pytest.mark.soffice, pytest.mark.corpus]

SHEETS = "fixtures/sheets.xlsx"
COMMENTED = "fixtures/comments.docx"
A4_96DPI = (794, 1123)  # 595 x 842 pt at 96 dpi
LETTER_96DPI = (816, 1056)


@pytest.fixture(scope="module", autouse=True)
def fixtures(service: Service) -> None:
    for name in ("sheets.xlsx", "comments.docx", "comments.doc", "comments.rtf"):
        service.put(BUCKET, f"fixtures/{name}", (FIXTURES / name).read_bytes())


def targets(delivery: Any) -> list[str]:
    return [t["URI"] for t in delivery.content["Targets"]]


def names(delivery: Any) -> list[str]:
    return [u.rsplit("/", 1)[-1] for u in targets(delivery)]


def ok(delivery: Any) -> dict[str, Any]:
    content: dict[str, Any] = delivery.content
    assert content["Status"] == "Succeeded", content
    return content


def image(service: Service, uri: str) -> Image.Image:
    img = Image.open(io.BytesIO(service.object(uri).read_bytes()))
    img.load()
    return img


def pdf_text(service: Service, delivery: Any) -> tuple[int, str]:
    [uri] = targets(delivery)
    with pymupdf.open(service.object(uri)) as pdf:
        return pdf.page_count, "".join(p.get_text() for p in pdf)


def out(template: str) -> str:
    return f"oss://{BUCKET}/out/{uuid.uuid4().hex[:8]}/{template}"


def near(size: tuple[int, int], expected: tuple[int, int], tolerance: int = 2) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(size, expected, strict=True))


# --- sheets ---------------------------------------------------------------------------------


def test_sheet_index_converts_that_sheet_and_names_it(convert: Any, service: Service) -> None:
    _, delivery = convert(
        SHEETS, "png", sheet_index=2, target_uri=out("{index}-{sheetname}.{autoext}")
    )
    ok(delivery)
    assert names(delivery) == ["2_1-Beta.png"]


def test_sheet_count_converts_the_first_sheets(convert: Any, service: Service) -> None:
    _, delivery = convert(SHEETS, "pdf", sheet_count=2)
    pages, text = pdf_text(service, delivery)
    assert "r1c1" in text and "BETA-MARK" in text
    assert "GAMMA-MARK" not in text
    _, everything = convert(SHEETS, "pdf")
    all_pages, all_text = pdf_text(service, everything)
    assert "GAMMA-MARK" in all_text
    assert pages == all_pages - 1


def test_sheet_index_and_count_and_sheetname_in_image_names(convert: Any) -> None:
    _, delivery = convert(
        SHEETS, "jpg", sheet_index=2, sheet_count=2, target_uri=out("{sheetname}/{index}.jpg")
    )
    ok(delivery)
    assert [u.rsplit("/", 2)[-2:] for u in targets(delivery)] == [
        ["Beta", "2_1.jpg"],
        ["Gamma", "3_1.jpg"],
    ]


def test_formulas_referring_to_unselected_sheets_keep_their_values(
    convert: Any, service: Service
) -> None:
    _, delivery = convert(SHEETS, "pdf", sheet_index=3)
    pages, text = pdf_text(service, delivery)
    assert pages == 1
    assert "GAMMA-MARK" in text and "BETA-MARK" not in text
    assert "42" in text.split() and "Err" not in text


def test_pages_count_within_the_selected_sheet(convert: Any) -> None:
    _, delivery = convert(SHEETS, "png", sheet_index=1, pages="2,3")
    ok(delivery)
    assert names(delivery) == ["1_2.png", "1_3.png"]
    _, later = convert(SHEETS, "png", sheet_index=3, start_page=1, end_page=1)
    assert names(later) == ["3_1.png"]


def test_sheet_index_past_the_last_sheet_fails(convert: Any) -> None:
    _, delivery = convert(SHEETS, "png", sheet_index=9)
    assert delivery.content["Status"] == "Failed"
    assert delivery.content["Code"] == "InvalidArgument.SheetIndex"
    assert "3 sheet" in delivery.content["Message"]


def test_max_sheet_row_and_column_limit_what_is_printed(convert: Any, service: Service) -> None:
    _, delivery = convert(SHEETS, "pdf", sheet_index=1, max_sheet_row=10, max_sheet_column=3)
    pages, text = pdf_text(service, delivery)
    assert pages == 1
    assert "r10c3" in text
    assert "r11c1" not in text and "r1c4" not in text


def test_fit_to_width_and_height_put_a_sheet_on_one_page(convert: Any, service: Service) -> None:
    _, normal = convert(SHEETS, "pdf", sheet_index=1)
    assert pdf_text(service, normal)[0] > 4
    _, fitted = convert(SHEETS, "pdf", sheet_index=1, fit_to_width=True, fit_to_height=True)
    pages, text = pdf_text(service, fitted)
    assert pages == 1
    assert "r120c26" in text and "r1c1" in text


def test_fit_to_width_keeps_every_column_on_each_page(convert: Any, service: Service) -> None:
    _, delivery = convert(SHEETS, "pdf", sheet_index=1, fit_to_width=True)
    [uri] = targets(delivery)
    with pymupdf.open(service.object(uri)) as pdf:
        for page in pdf:
            assert "c26" in page.get_text()


def test_paper_size_and_horizontal_paper(convert: Any, service: Service) -> None:
    _, delivery = convert(
        SHEETS, "png", sheet_index=3, paper_size="A3", paper_horizontal=True, image_dpi=96
    )
    ok(delivery)
    [uri] = targets(delivery)
    assert near(image(service, uri).size, (1587, 1123))  # A3 landscape: 420 x 297 mm

    _, own = convert(SHEETS, "png", sheet_index=3)
    assert near(image(service, targets(own)[0]).size, A4_96DPI)  # the workbook's paper
    _, letter = convert(SHEETS, "png", sheet_index=3, paper_size="letter")
    assert near(image(service, targets(letter)[0]).size, LETTER_96DPI)


def test_sheet_options_have_no_effect_on_text_output(convert: Any, service: Service) -> None:
    _, delivery = convert(SHEETS, "txt", sheet_index=2)
    [uri] = targets(delivery)
    text = service.object(uri).read_text(encoding="utf-8")
    assert "GAMMA-MARK" in text and "BETA-MARK" in text  # IMM: one txt of every sheet


# --- comments -------------------------------------------------------------------------------


def test_show_comments_in_word_output(convert: Any, service: Service) -> None:
    _, hidden = convert(COMMENTED, "pdf")
    assert "WORD-COMMENT-TEXT" not in pdf_text(service, hidden)[1]
    _, shown = convert(COMMENTED, "pdf", show_comments=True)
    _, text = pdf_text(service, shown)
    assert "Body text of the commented document." in text
    assert "WORD-COMMENT-TEXT" in text


def test_commented_word_document_to_images(convert: Any, service: Service) -> None:
    """A Word document with comments used to abort LibreOffice (see workers/soffice/comments)."""
    _, delivery = convert(COMMENTED, "png", show_comments=True)
    ok(delivery)
    assert near(image(service, targets(delivery)[0]).size, LETTER_96DPI)


@pytest.mark.parametrize("name", ["comments.doc", "comments.rtf"])
def test_binary_word_file_with_comments_converts(convert: Any, service: Service, name: str) -> None:
    """They abort the warm LibreOffice: they are converted with a one-off soffice instead."""
    started = time.monotonic()
    _, delivery = convert(f"fixtures/{name}", "png", target_uri=out("{index}.{autoext}"))
    ok(delivery)
    assert time.monotonic() - started < 60
    assert near(image(service, targets(delivery)[0]).size, LETTER_96DPI)
    _, as_text = convert(f"fixtures/{name}", "txt", long_text=True)
    text = service.object(targets(as_text)[0]).read_text(encoding="utf-8")
    assert "Body text of the commented document." in text
    assert "WORD-COMMENT-TEXT" not in text
    _, shown = convert(f"fixtures/{name}", "txt", long_text=True, show_comments=True)
    text = service.object(targets(shown)[0]).read_text(encoding="utf-8")
    assert "Body text of the commented document." in text
    assert "WORD-COMMENT-TEXT" in text


def test_show_comments_in_spreadsheets(convert: Any, service: Service) -> None:
    _, hidden = convert(SHEETS, "pdf", sheet_index=2)
    assert "BETA-COMMENT-TEXT" not in pdf_text(service, hidden)[1]
    _, shown = convert(SHEETS, "pdf", sheet_index=2, show_comments=True)
    assert "BETA-COMMENT-TEXT" in pdf_text(service, shown)[1]
    _, as_text = convert(SHEETS, "txt", show_comments=True)
    assert "BETA-COMMENT-TEXT" in service.object(targets(as_text)[0]).read_text(encoding="utf-8")


# --- long pictures, first page, scale --------------------------------------------------------


def test_long_picture_of_a_document(convert: Any, service: Service) -> None:
    _, delivery = convert(
        "page-breaks.docx", "png", long_picture=True, pages="1-3", target_uri=out("long.png")
    )
    ok(delivery)
    [uri] = targets(delivery)
    _, single = convert("page-breaks.docx", "png", pages="1")
    page = image(service, targets(single)[0]).size
    long = image(service, uri).size
    assert long[0] == page[0]
    assert abs(long[1] - 3 * page[1]) <= 3


def test_long_picture_of_a_spreadsheet_is_one_image_per_sheet(
    convert: Any, service: Service
) -> None:
    _, delivery = convert(
        SHEETS, "png", long_picture=True, target_uri=out("{index}-{sheetname}.{autoext}")
    )
    ok(delivery)
    assert names(delivery) == ["1_1-Alpha.png", "2_1-Beta.png", "3_1-Gamma.png"]
    alpha, beta, _ = (image(service, u) for u in targets(delivery))
    # All 26 columns and 120 rows at 100 %: far wider and taller than one page.
    assert alpha.width > 2 * A4_96DPI[0] and alpha.height > A4_96DPI[1]
    assert beta.width < A4_96DPI[0] / 2  # cropped to what is on the sheet


def test_long_picture_with_max_rows_and_columns(convert: Any, service: Service) -> None:
    _, full = convert(SHEETS, "png", long_picture=True, sheet_index=1)
    _, small = convert(
        SHEETS, "png", long_picture=True, sheet_index=1, max_sheet_row=10, max_sheet_column=5
    )
    big = image(service, targets(full)[0]).size
    little = image(service, targets(small)[0]).size
    assert little[0] < big[0] / 3 and little[1] < big[1] / 6


def test_first_page_gives_one_thumbnail(convert: Any, service: Service) -> None:
    _, delivery = convert(
        SHEETS, "png", long_picture=True, first_page=True, target_uri=out("thumb.{autoext}")
    )
    ok(delivery)
    [uri] = targets(delivery)
    assert near(image(service, uri).size, A4_96DPI)  # the sheet's own paper, first page


def test_scale_percentage_scales_images(convert: Any, service: Service) -> None:
    _, half = convert("fake.docx", "png", scale_percentage=50)
    assert near(image(service, targets(half)[0]).size, (408, 528))


def test_hold_line_feed_keeps_line_breaks(convert: Any, service: Service) -> None:
    _, joined = convert("fake-memo.pdf", "txt", long_text=True)
    _, held = convert("fake-memo.pdf", "txt", long_text=True, hold_line_feed=True)
    one = service.object(targets(joined)[0]).read_text(encoding="utf-8")
    two = service.object(targets(held)[0]).read_text(encoding="utf-8")
    assert two.count("\n") > one.count("\n")
    assert one.split() == two.split()


def test_trim_policy_is_accepted(convert: Any) -> None:
    policy = m.TrimPolicy(disable_delete_empty_cell=True, disable_delete_unused_shape=True)
    _, delivery = convert(SHEETS, "png", sheet_index=3, trim_policy=policy)
    ok(delivery)


# --- Sources --------------------------------------------------------------------------------


def _png(service: Service, name: str, size: tuple[int, int], colour: str) -> str:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="WEBP" if name.endswith(".webp") else "PNG")
    return service.put(BUCKET, f"images/{name}", buf.getvalue())


def test_sources_images_become_pdf_pages(client: Any, service: Service, receiver: Any) -> None:
    first = _png(service, "wide.png", (200, 100), "red")
    second = _png(service, "tall.webp", (100, 300), "blue")
    request = m.CreateOfficeConversionTaskRequest(
        project_name="test-project",
        sources=[
            m.CreateOfficeConversionTaskRequestSources(uri=first),
            m.CreateOfficeConversionTaskRequestSources(uri=second, rotate=90),
        ],
        target_type="pdf",
        target_uri=out("{barename}.{autoext}"),
        notification=notification(),
    )
    task_id = client.create_office_conversion_task(request).body.task_id
    delivery = receiver.wait_for(task_id)
    ok(delivery)
    [uri] = targets(delivery)
    assert uri.endswith("/wide.pdf")
    with pymupdf.open(service.object(uri)) as pdf:
        # 96 dpi: 200 x 100 px is 150 x 75 pt; the second page is turned by 90 degrees.
        assert [(round(p.rect.width), round(p.rect.height)) for p in pdf] == [
            (150, 75),
            (225, 75),
        ]


def test_sources_to_images(client: Any, service: Service, receiver: Any) -> None:
    first = _png(service, "a.png", (120, 80), "green")
    request = m.CreateOfficeConversionTaskRequest(
        project_name="test-project",
        sources=[m.CreateOfficeConversionTaskRequestSources(uri=first)] * 2,
        target_type="png",
        long_picture=True,
        target_uri=out("long.png"),
        notification=notification(),
    )
    task_id = client.create_office_conversion_task(request).body.task_id
    delivery = receiver.wait_for(task_id)
    ok(delivery)
    # An image without a resolution is taken as 96 dpi: at ImageDPI 96 its pixels come back.
    assert image(service, targets(delivery)[0]).size == (120, 160)


# --- source types -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "body", "mark"),
    [
        ("hello.py", "def main():\n    print('PY-MARK')\n", "PY-MARK"),
        ("Main.java", 'class Main { String s = "JAVA-MARK"; }\n', "JAVA-MARK"),
        ("app.js", "const mark = 'JS-MARK';\n", "JS-MARK"),
        ("main.c", '#include <stdio.h>\nint main() { puts("C-MARK"); }\n', "C-MARK"),
        ("main.go", 'package main\nfunc main() { println("GO-MARK") }\n', "GO-MARK"),
        ("README.md", "# Title\n\nMD-MARK paragraph\n", "MD-MARK"),
        ("data.json", '{"mark": "JSON-MARK"}\n', "JSON-MARK"),
        ("conf.xml", '<?xml version="1.0"?>\n<root>XML-MARK</root>\n', "XML-MARK"),
        ("conf.yaml", "mark: YAML-MARK\n", "YAML-MARK"),
        ("notes.txt", "TXT-MARK line\n", "TXT-MARK"),
    ],
)
def test_code_and_text_sources(
    convert: Any, service: Service, name: str, body: str, mark: str
) -> None:
    service.put(BUCKET, f"code/{name}", body.encode())
    _, delivery = convert(f"code/{name}", "pdf")
    pages, text = pdf_text(service, delivery)
    assert pages == 1
    assert mark in text


@pytest.mark.parametrize(
    ("source", "as_name", "mark"),
    [
        ("fake.doc", "kingsoft.wps", None),
        ("tests-example.xls", "kingsoft.et", None),
        ("fake-power-point.ppt", "kingsoft.dps", None),
        ("stanley-cups.csv", "stanley-cups.csv", "Stanley"),
        ("fake-doc.rtf", "fake-doc.rtf", None),
        ("fake-html.html", "fake-html.html", None),
        ("winter-sports.epub", "winter-sports.epub", None),
    ],
)
def test_other_source_types(
    convert: Any, service: Service, corpus: Any, source: str, as_name: str, mark: str | None
) -> None:
    service.put(BUCKET, f"types/{as_name}", (corpus / source).read_bytes())
    _, delivery = convert(f"types/{as_name}", "png", pages="1")
    ok(delivery)
    img = image(service, targets(delivery)[0])
    assert img.width > 100 and img.height > 100
    if mark:
        _, as_text = convert(f"types/{as_name}", "txt", long_text=True)
        assert mark in service.object(targets(as_text)[0]).read_text(encoding="utf-8")


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"target_type": "pdf", "long_picture": True}, "LongPicture"),
        ({"target_type": "txt", "first_page": True}, "FirstPage"),
        ({"paper_size": "Z9"}, "PaperSize"),
        ({"sheet_index": 0}, "SheetIndex"),
        ({"max_sheet_row": -1}, "MaxSheetRow"),
        ({"target_uri": out("same.png")}, "{index}"),
    ],
)
def test_options_that_cannot_be_honoured_are_refused(
    client: Any, kwargs: dict[str, Any], fragment: str
) -> None:
    params = {
        "project_name": "test-project",
        "source_uri": f"oss://{BUCKET}/{SHEETS}",
        "target_type": "png",
        "target_uri": out("{index}.{autoext}"),
        **kwargs,
    }
    with pytest.raises(ClientException) as info:
        client.create_office_conversion_task(m.CreateOfficeConversionTaskRequest(**params))
    assert info.value.code == "InvalidArgument"
    assert fragment in info.value.message


# --- every TargetURI placeholder -----------------------------------------------------------


def test_every_template_variable(convert: Any, service: Service) -> None:
    source = service.object(f"oss://{BUCKET}/{SHEETS}")
    mtime = time.gmtime(source.stat().st_mtime)
    before = time.time()
    template = (
        "oss://{bucket}/vars/{key}/{dirname}/{barename}/{basename}/{ext}/"
        "{year}-{mon}-{day}T{hour}-{min}-{sec}/{t_year}-{t_mon}-{t_day}T{t_hour}-{t_min}-{t_sec}/"
        "{tags.team}/{tags.n}/{{lit}}/{sheetname}/{index}.{autoext}"
    )
    _, delivery = convert(
        SHEETS, "png", sheet_index=2, tags={"team": "docs", "n": 3}, target_uri=template
    )
    after = time.time()
    [uri] = targets(delivery)
    parts = uri[len("oss://") :].split("/")
    task_times = {
        time.strftime("%Y-%m-%dT%H-%M-%S", time.gmtime(t))
        for t in range(int(before) - 1, int(after) + 2)
    }
    assert parts[0] == BUCKET
    assert parts[1:10] == [
        "vars", "fixtures", "sheets.xlsx", "fixtures", "sheets", "sheets.xlsx", "xlsx",
        time.strftime("%Y-%m-%dT%H-%M-%S", mtime), parts[9],
    ]  # fmt: skip
    assert parts[9] in task_times
    assert parts[10:] == ["docs", "3", "{lit}", "Beta", "2_1.png"]
    assert image(service, uri).format == "PNG"


# --- every source type IMM lists (spec 2.1 SourceType), each from a real file of its family ---

IMM_TYPES = {
    "fake.doc": ["doc", "dot", "wps", "wpss"],
    "fake.docx": ["docx", "docm", "dotm", "dotx"],
    "fake-power-point.ppt": ["ppt", "pot", "pps", "dps", "dpt", "dpss"],
    "fake-power-point.pptx": ["pptx", "potx", "ppsx", "pptm", "potm", "ppsm"],
    "tests-example.xls": ["xls", "xlt", "et", "ett", "ets"],
    "stanley-cups.xlsx": ["xlsx", "xltx", "xlsb", "xlsm", "xltm"],
    "stanley-cups.csv": ["csv"],
    "fake-memo.pdf": ["pdf"],
}


@pytest.mark.parametrize(("source", "ext"), [(s, e) for s, exts in IMM_TYPES.items() for e in exts])
def test_every_imm_source_type(
    convert: Any, service: Service, corpus: Any, source: str, ext: str
) -> None:
    key = f"types/every/{source.rsplit('.', 1)[0]}.{ext}"
    service.put(BUCKET, key, (corpus / source).read_bytes())
    _, delivery = convert(key, "png", pages="1")
    content = ok(delivery)
    assert content["PageCount"] >= 1
    img = image(service, targets(delivery)[0])
    assert img.width > 300 and img.height > 300
