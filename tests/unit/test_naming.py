"""Output object names (imm_engine/targets/naming.py), spec sections 2.3 and 4."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from imm_engine.errors import InvalidValue, TaskFailure
from imm_engine.targets import naming
from imm_engine.targets.naming import Namer

SOURCE = "oss://src-bucket/dir/sub/report.docx"
MTIME = 1700000000.0  # 2023-11-14T22:13:20Z
START = 1735689599.0  # 2024-12-31T23:59:59Z (2025-01-01 07:59:59 in Shanghai)


@pytest.fixture
def shanghai_local_time() -> Iterator[None]:
    """Run with a local time zone far from UTC, to show the variables ignore it."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Shanghai"
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()


def namer(
    *,
    template: str | None = None,
    prefix: str | None = None,
    source: str = SOURCE,
    tags: dict[str, Any] | None = None,
    single: bool = False,
) -> Namer:
    return Namer(
        source,
        tags or {},
        template=template,
        prefix=prefix,
        source_mtime=MTIME,
        task_start=START,
        single=single,
    )


# --- TargetURI templates -----------------------------------------------------------------

TEMPLATES = [
    # (template, source, tags, uri() arguments, expected URI)
    pytest.param("oss://out-b/{dirname}/{barename}/{index}.{autoext}", SOURCE, {},
                 {"index": "1", "autoext": "png"}, "oss://out-b/dir/sub/report/1.png",
                 id="doc-example"),
    pytest.param("oss://out-b/{dirname}/{barename}/{index}.{autoext}", "oss://src-bucket/r.docx",
                 {}, {"index": "2", "autoext": "jpg"}, "oss://out-b/r/2.jpg",
                 id="root-level-source-no-double-slash"),
    pytest.param("oss://{bucket}/{key}.{autoext}", SOURCE, {}, {"index": "1", "autoext": "pdf"},
                 "oss://src-bucket/dir/sub/report.docx.pdf", id="bucket-and-key"),
    pytest.param("oss://out-b/{basename}-{ext}/{index}", SOURCE, {},
                 {"index": "3", "autoext": "png"}, "oss://out-b/report.docx-docx/3",
                 id="basename-ext"),
    pytest.param("oss://out-b/{sheetname}/{index}.{autoext}", "oss://src-bucket/s.xlsx", {},
                 {"index": "2_1", "autoext": "png", "sheetname": "Sheet 2"},
                 "oss://out-b/Sheet 2/2_1.png", id="sheet"),
    pytest.param("oss://out-b/{tags.user}/{index}.{autoext}", SOURCE, {"user": "Jane"},
                 {"index": "1", "autoext": "png"}, "oss://out-b/Jane/1.png", id="tag"),
    pytest.param("oss://out-b/{barename}.{autoext}", "oss://src-bucket/{index}.docx", {},
                 {"index": "9", "autoext": "pdf"}, "oss://out-b/{index}.pdf",
                 id="braces-in-source-name-stay-literal"),
    pytest.param("oss://out-b/测试 目录/{index}.{autoext}", SOURCE, {},
                 {"index": "1", "autoext": "txt"}, "oss://out-b/测试 目录/1.txt", id="chinese"),
    pytest.param("oss://out-b/{dirname}/{barename}/{index}.{autoext}",
                 "oss://src-bucket/报告/2024/中文报告.docx", {}, {"index": "1", "autoext": "png"},
                 "oss://out-b/报告/2024/中文报告/1.png", id="chinese-stem-and-dirname"),
    pytest.param("oss://out-b/{barename}/{index}.{autoext}", "oss://src-bucket/5页Word.docx", {},
                 {"index": "5", "autoext": "jpg"}, "oss://out-b/5页Word/5.jpg", id="example-name"),
    pytest.param("oss://out-b/{dirname}/{barename}.{autoext}", "oss://src-bucket/資料/データ.pptx",
                 {}, {"index": "1", "autoext": "pdf"}, "oss://out-b/資料/データ.pdf",
                 id="japanese"),
    pytest.param("oss://out-b/{barename}-{index}.{autoext}", "oss://src-bucket/보고서.xlsx", {},
                 {"index": "1_1", "autoext": "png"}, "oss://out-b/보고서-1_1.png", id="korean"),
    pytest.param("oss://out-b/{basename}.{autoext}", "oss://src-bucket/中文报告", {},
                 {"index": "1", "autoext": "pdf"}, "oss://out-b/中文报告.pdf",
                 id="no-extension-keeps-stem"),
]  # fmt: skip


@pytest.mark.parametrize(("template", "source", "tags", "args", "expected"), TEMPLATES)
def test_template(
    template: str, source: str, tags: dict[str, Any], args: dict[str, str], expected: str
) -> None:
    assert str(namer(template=template, source=source, tags=tags).uri(**args)) == expected


@pytest.mark.usefixtures("shanghai_local_time")
def test_time_variables_are_utc() -> None:
    n = namer(
        template="oss://out-b/{year}{mon}{day}{hour}{min}{sec}/"
        "{t_year}-{t_mon}-{t_day}T{t_hour}:{t_min}:{t_sec}/{index}.{autoext}"
    )
    assert str(n.uri(index="1", autoext="png")) == (
        "oss://out-b/20231114221320/2024-12-31T23:59:59/1.png"
    )


@pytest.mark.parametrize(
    ("prefix", "ts", "expected"),
    [
        pytest.param("", 0.0, ("1970", "01", "01", "00", "00", "00"), id="epoch"),
        pytest.param("t_", MTIME, ("2023", "11", "14", "22", "13", "20"), id="task"),
        pytest.param("", 951782400.0, ("2000", "02", "29", "00", "00", "00"), id="leap-day"),
    ],
)
def test_time_values(prefix: str, ts: float, expected: tuple[str, ...]) -> None:
    names = ("year", "mon", "day", "hour", "min", "sec")
    assert naming.time_values(prefix, ts) == {
        prefix + n: v for n, v in zip(names, expected, strict=True)
    }


def test_template_wins_over_prefix() -> None:
    n = namer(template="oss://out-b/t/{index}.{autoext}", prefix="oss://out-b/p/")
    assert str(n.uri(index="1", autoext="png")) == "oss://out-b/t/1.png"


RENDER_REFUSED = [
    # (template, tags, fragment)
    pytest.param("oss://out-b/{tags.t}/{index}.png", {"t": "../x"}, "'.' or '..'",
                 id="dotdot-tag"),
    pytest.param("oss://out-b/{tags.t}", {"t": "a/"}, "names a directory", id="directory"),
]  # fmt: skip


@pytest.mark.parametrize(("template", "tags", "fragment"), RENDER_REFUSED)
def test_rendered_uri_is_validated(template: str, tags: dict[str, Any], fragment: str) -> None:
    with pytest.raises(TaskFailure) as err:  # at run time: the task fails, the worker lives on
        namer(template=template, tags=tags).uri(index="1", autoext="png")
    assert err.value.code == "InvalidArgument"
    assert "TargetURI" in err.value.message
    assert fragment in err.value.message


# --- TargetURIPrefix ---------------------------------------------------------------------

PREFIXES = [
    # (prefix, single output, uri() arguments, expected)
    pytest.param("oss://out-b/out/", False, {"index": "1", "autoext": "png"},
                 "oss://out-b/out/1.png", id="pages"),
    pytest.param("oss://out-b/out", False, {"index": "12", "autoext": "jpg"},
                 "oss://out-b/out/12.jpg", id="pages-slash-added"),
    pytest.param("oss://out-b/out/", False, {"index": "1_1", "autoext": "png"},
                 "oss://out-b/out/1_1.png", id="spreadsheet-page"),
    pytest.param("oss://out-b/", False, {"index": "1", "autoext": "png"},
                 "oss://out-b/1.png", id="bucket-root"),
    pytest.param("oss://out-b/out/", True, {"index": "1", "autoext": "pdf"},
                 "oss://out-b/out/report.pdf", id="single-output"),
    pytest.param("oss://out-b/out/", True, {"index": "1", "autoext": "txt"},
                 "oss://out-b/out/report.txt", id="long-text"),
    pytest.param("oss://out-b/a{index}b/", False, {"index": "3", "autoext": "png"},
                 "oss://out-b/a{index}b/3.png", id="brace-in-prefix-is-escaped"),
    pytest.param("oss://out-b/x}}y{{z{", True, {"index": "1", "autoext": "pdf"},
                 "oss://out-b/x}}y{{z{/report.pdf", id="unbalanced-braces-escaped"),
    pytest.param("oss://out-b/{tags.t}/", False, {"index": "1", "autoext": "png"},
                 "oss://out-b/{tags.t}/1.png", id="tag-syntax-in-prefix-is-literal"),
]  # fmt: skip


@pytest.mark.parametrize(("prefix", "single", "args", "expected"), PREFIXES)
def test_prefix(prefix: str, single: bool, args: dict[str, str], expected: str) -> None:
    assert str(namer(prefix=prefix, single=single).uri(**args)) == expected


def test_single_output_of_root_level_source() -> None:
    n = namer(prefix="oss://out-b/out/", source="oss://src-bucket/a.tar.gz", single=True)
    assert str(n.uri(index="1", autoext="pdf")) == "oss://out-b/out/a.tar.pdf"


@pytest.mark.parametrize(
    ("targets", "name"),
    [
        pytest.param({"source": "oss://src-bucket/", "prefix": "oss://out-b/"},
                     "SourceURI", id="bad-source"),
        pytest.param({"source": SOURCE, "prefix": "oss://out-b/../x"},
                     "TargetURIPrefix", id="bad-prefix"),
        pytest.param({"source": SOURCE, "template": "oss://out-b/{index!r}"},
                     "TargetURI", id="bad-template"),
    ],
)  # fmt: skip
def test_namer_refuses(targets: dict[str, str], name: str) -> None:
    with pytest.raises(InvalidValue) as err:
        namer(**targets)
    assert err.value.code == "InvalidArgument"
    assert err.value.message.startswith(f"The parameter {name} is invalid: ")


def test_source_values() -> None:
    from imm_engine.targets import uris

    assert naming.source_values(uris.OssUri("b12", "d/a.tar.gz")) == {
        "bucket": "b12",
        "key": "d/a.tar.gz",
        "dirname": "d",
        "barename": "a.tar",
        "basename": "a.tar.gz",
        "ext": "gz",
    }


SHEET_NAMES = [
    # (sheet name as the document has it, the segment it becomes)
    pytest.param("Sheet1", "Sheet1", id="plain"),
    pytest.param("..", "__", id="dotdot"),
    pytest.param(".", "_", id="dot"),
    pytest.param("a/../b", "a_.._b", id="slashes"),
    pytest.param("a\\b", "a_b", id="backslash"),
    pytest.param("tab\there", "tab_here", id="control"),
    pytest.param("预算 2024", "预算 2024", id="unicode-kept"),
]  # fmt: skip


@pytest.mark.parametrize(("sheet", "segment"), SHEET_NAMES)
def test_sheet_names_become_one_safe_segment(sheet: str, segment: str) -> None:
    n = namer(template="oss://out-b/x/{sheetname}/{index}.{autoext}")
    uri = n.uri(index="1_1", autoext="png", sheetname=sheet)
    assert uri.key == f"x/{segment}/1_1.png"
