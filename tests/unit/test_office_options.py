"""CreateOfficeConversionTask's rendering options (imm_engine/tasktypes/office/options.py)."""

from __future__ import annotations

from typing import Any

import pytest

from imm_engine.api.params import Params
from imm_engine.errors import ApiError, InvalidValue
from imm_engine.tasktypes.office import options as oo
from imm_engine.tasktypes.office.formats import SOURCE_TYPES, Family
from imm_engine.tasktypes.office_conversion import OfficeJob, parse_job


def p(**values: str) -> Params:
    return Params(values.items())


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, {}),
        ({"SheetIndex": "2"}, {"index": 2}),
        ({"SheetCount": "3"}, {"count": 3}),
        ({"MaxSheetRow": "10", "MaxSheetColumn": "4"}, {"max_rows": 10, "max_columns": 4}),
        ({"FitToWidth": "true"}, {"fit_width": True}),
        ({"FitToHeight": "True"}, {"fit_height": True}),
        ({"FitToPagesWide": "true"}, {"fit_width": True}),  # 2017 name
        ({"FitToPagesTall": "true"}, {"fit_height": True}),  # 2017 name
        ({"FitToWidth": "false"}, {}),
        ({"PaperSize": "a3"}, {"paper": "A3"}),
        ({"PaperSize": "Letter"}, {"paper": "LETTER"}),
        ({"PaperHorizontal": "true"}, {"landscape": True}),
    ],
)
def test_sheet_options(values: dict[str, str], expected: dict[str, Any]) -> None:
    assert oo.parse_sheet_options(p(**values)).to_record() == expected


@pytest.mark.parametrize(
    ("values", "name"),
    [
        ({"SheetIndex": "0"}, "SheetIndex"),
        ({"SheetCount": "-1"}, "SheetCount"),
        ({"MaxSheetRow": "0"}, "MaxSheetRow"),
        ({"MaxSheetColumn": "16385"}, "MaxSheetColumn"),
        ({"PaperSize": "A9"}, "PaperSize"),
        ({"PaperHorizontal": "sideways"}, "PaperHorizontal"),
        ({"FitToWidth": "true", "FitToPagesWide": "false"}, "FitToPagesWide"),
    ],
)
def test_sheet_options_refused(values: dict[str, str], name: str) -> None:
    with pytest.raises(ApiError) as err:
        oo.parse_sheet_options(p(**values))
    assert err.value.code == "InvalidArgument"
    assert name in err.value.message


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, (1, None)),
        ({"index": 2}, (2, 1)),  # SheetIndex alone: that sheet
        ({"count": 2}, (1, 2)),  # SheetCount alone: the first sheets
        ({"index": 2, "count": 3}, (2, 3)),
    ],
)
def test_sheet_range(options: dict[str, int], expected: tuple[int, int | None]) -> None:
    assert oo.sheet_range(oo.SheetOptions(**options)) == expected


@pytest.mark.parametrize(
    ("raw", "ok"),
    [
        ('{"DisableDeleteEmptyCell": true}', True),
        ('{"DisableDeleteRepeatedStyle": false, "DisableDeleteUnusedShape": true}', True),
        ('{"DisableDeleteUnusedPicture": "yes"}', False),
        ('{"Shrink": true}', False),
    ],
)
def test_trim_policy(raw: str, ok: bool) -> None:
    if ok:
        assert oo.parse_trim_policy(p(TrimPolicy=raw))
        return
    with pytest.raises(ApiError) as err:
        oo.parse_trim_policy(p(TrimPolicy=raw))
    assert "TrimPolicy" in err.value.message


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("[]", "empty"),
        ('[{"URI": "oss://b-1/a.docx"}]', "not an image"),
        ('[{"URI": "oss://b-1/a.png", "Rotate": 45}]', "Rotate"),
        ('[{"URI": "oss://b-1/a.png", "Size": 1}]', "unknown key"),
        ('[{"URI": "http://x/a.png"}]', "URI"),
        ('["oss://b-1/a.png"]', "not a JSON object"),
        ("[" + ",".join(['{"URI": "oss://b-1/a.png"}'] * 101) + "]", "more than 100"),
    ],
)
def test_sources_refused(raw: str, fragment: str) -> None:
    with pytest.raises((ApiError, InvalidValue)) as err:
        oo.parse_sources(p(Sources=raw))
    assert isinstance(err.value, ApiError | InvalidValue)
    assert fragment in err.value.message


def test_sources_parsed_in_order() -> None:
    raw = '[{"URI": "oss://b-1/a.png"}, {"URI": "oss://b-1/b.JPG", "Rotate": 270}]'
    assert oo.parse_sources(p(Sources=raw)) == [
        {"URI": "oss://b-1/a.png", "Rotate": 0},
        {"URI": "oss://b-1/b.JPG", "Rotate": 270},
    ]


BASE = {"ProjectName": "p", "TargetURI": "oss://b-1/o/{index}.{autoext}"}


def job_of(**values: str) -> OfficeJob:
    return parse_job(p(**{**BASE, **values}), {})


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # sheet options reach spreadsheet jobs (not txt: IMM writes one text of every sheet)
        ({"SourceURI": "oss://b-1/a.xlsx", "TargetType": "png", "SheetIndex": "2"},
         {"sheet": {"index": 2}}),
        ({"SourceURI": "oss://b-1/a.xlsx", "TargetType": "pdf", "FitToWidth": "true"},
         {"sheet": {"fit_width": True}}),
        ({"SourceURI": "oss://b-1/a.xlsx", "TargetType": "txt", "SheetIndex": "2"}, {}),
        ({"SourceURI": "oss://b-1/a.docx", "TargetType": "png", "SheetIndex": "2"}, {}),
        ({"SourceURI": "oss://b-1/a.docx", "TargetType": "png", "LongPicture": "true"},
         {"long_picture": True}),
        ({"SourceURI": "oss://b-1/a.xlsx", "TargetType": "jpg", "LongPicture": "true",
          "FirstPage": "true"}, {"long_picture": True, "first_page": True}),
        ({"SourceURI": "oss://b-1/a.docx", "TargetType": "pdf", "ShowComments": "true"},
         {"show_comments": True}),
        ({"SourceURI": "oss://b-1/a.pptx", "TargetType": "png", "ShowComments": "true"},
         {"show_comments": True}),
        ({"SourceURI": "oss://b-1/a.doc", "TargetType": "png", "ShowComments": "true"},
         {"show_comments": True}),
    ],
)  # fmt: skip
def test_render_options_in_the_job(values: dict[str, str], expected: dict[str, Any]) -> None:
    job = job_of(**values).to_record()
    keys = ("sheet", "long_picture", "first_page", "show_comments")
    assert {k: job[k] for k in keys if job.get(k)} == expected


@pytest.mark.parametrize(
    ("values", "name"),
    [
        ({"SourceURI": "oss://b-1/a.docx", "TargetType": "pdf", "LongPicture": "true"},
         "LongPicture"),
        ({"SourceURI": "oss://b-1/a.docx", "TargetType": "txt", "FirstPage": "true"},
         "FirstPage"),
        ({"SourceURI": "oss://b-1/a.docx", "Sources": '[{"URI": "oss://b-1/a.png"}]',
          "TargetType": "pdf"}, "Sources"),
        ({"Sources": '[{"URI": "oss://b-1/a.png"}]', "TargetType": "txt"}, "TargetType"),
        # per-sheet long pictures of a whole workbook need {index} (or {sheetname})
        ({"SourceURI": "oss://b-1/a.xlsx", "TargetType": "png", "LongPicture": "true",
          "TargetURI": "oss://b-1/o/x.png"}, "TargetURI"),
    ],
)  # fmt: skip
def test_render_options_refused(values: dict[str, str], name: str) -> None:
    with pytest.raises(ApiError) as err:
        job_of(**values)
    assert err.value.code == "InvalidArgument"
    assert f"parameter {name} " in err.value.message


@pytest.mark.parametrize(
    ("values", "template"),
    [
        ({"SourceURI": "oss://b-1/a.docx", "TargetType": "png", "LongPicture": "true"}, "x.png"),
        ({"SourceURI": "oss://b-1/a.xlsx", "TargetType": "png", "FirstPage": "true"}, "x.png"),
        ({"SourceURI": "oss://b-1/a.xlsx", "TargetType": "png", "LongPicture": "true",
          "SheetIndex": "2"}, "x.png"),
        ({"SourceURI": "oss://b-1/a.xlsx", "TargetType": "png", "LongPicture": "true"},
         "{sheetname}.png"),
        ({"SourceURI": "oss://b-1/a.xlsx", "TargetType": "txt"}, "x.txt"),
    ],
)  # fmt: skip
def test_single_outputs_need_no_index(values: dict[str, str], template: str) -> None:
    job_of(**values, TargetURI=f"oss://b-1/o/{template}")


def test_sources_job() -> None:
    job = job_of(Sources='[{"URI": "oss://b-1/in/a.png"}]', TargetType="pdf")
    assert job.source == "oss://b-1/in/a.png"
    assert job.source_type == "pdf"
    assert job.sources == [{"URI": "oss://b-1/in/a.png", "Rotate": 0}]


@pytest.mark.parametrize("ext", ["py", "java", "js", "c", "go", "md", "json", "xml", "yaml"])
def test_code_files_are_text_sources(ext: str) -> None:
    assert SOURCE_TYPES[ext] == Family.WORD
    assert job_of(SourceURI=f"oss://b-1/src/main.{ext}", TargetType="pdf").source_type == ext
