"""TargetURI templates (imm_engine/targets/templates.py), spec section 4."""

from __future__ import annotations

from typing import Any

import pytest

from imm_engine.errors import InvalidValue
from imm_engine.targets import templates
from imm_engine.targets.templates import Field, Template

VALUES = {
    "bucket": "b12",
    "key": "dir/sub/report.docx",
    "dirname": "dir/sub",
    "barename": "report",
    "basename": "report.docx",
    "ext": "docx",
    "year": "2024",
    "mon": "01",
    "day": "02",
    "hour": "03",
    "min": "04",
    "sec": "05",
    "t_year": "2025",
    "t_mon": "06",
    "t_day": "07",
    "t_hour": "08",
    "t_min": "09",
    "t_sec": "10",
    "index": "3",
    "sheetname": "Sheet1",
    "autoext": "png",
}

# --- parse -------------------------------------------------------------------------------

PARSED = [
    # (template, parts)
    pytest.param("plain", ("plain",), id="literal-only"),
    pytest.param("", (), id="empty"),
    pytest.param("{index}", (Field("index"),), id="one-field"),
    pytest.param("a{index}.{autoext}",
                 ("a", Field("index"), ".", Field("autoext")), id="fields-and-literals"),
    pytest.param("{{index}}", ("{index}",), id="escaped-braces-are-literal"),
    pytest.param("{{{index}}}", ("{", Field("index"), "}"), id="escape-around-field"),
    pytest.param("a{{b", ("a{b",), id="lone-escaped-open"),
    pytest.param("a}}b", ("a}b",), id="lone-escaped-close"),
    pytest.param("{tags.custom}", (Field("tags.custom"),), id="tag"),
    pytest.param("{tags.a.b}", (Field("tags.a.b"),), id="tag-key-with-dot"),
    pytest.param("{tags.用户}", (Field("tags.用户"),), id="tag-key-chinese"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "parts"), PARSED)
def test_parse(text: str, parts: tuple[str | Field, ...]) -> None:
    assert templates.parse(text).parts == parts


def test_variables_and_tags_are_separated() -> None:
    t = templates.parse("oss://b12/{dirname}/{tags.user}/{index}.{autoext}")
    assert t.variables == {"dirname", "index", "autoext"}
    assert t.tags == {"user"}


REFUSED = [
    # (template, fragment of the message)
    pytest.param("{index", "never closed", id="unclosed"),
    pytest.param("oss://b12/{", "never closed", id="unclosed-at-end"),
    pytest.param("a}b", "single '}'", id="single-close"),
    pytest.param("}}}", "single '}'", id="odd-closes"),
    pytest.param("{}", "is not a template variable", id="positional-auto"),
    pytest.param("{0}", "is not a template variable", id="positional-index"),
    pytest.param("{0.__class__}", "is not a template variable", id="attribute-of-positional"),
    pytest.param("{index.__class__}", "is not a template variable", id="attribute-access"),
    pytest.param("{index!r}", "is not a template variable", id="conversion"),
    pytest.param("{index:>3}", "is not a template variable", id="format-spec"),
    pytest.param("{index[0]}", "is not a template variable", id="indexing"),
    pytest.param("{ index }", "is not a template variable", id="spaces"),
    pytest.param("{a{b}", "is not a template variable", id="nested-open"),
    pytest.param("{tags.}", "names no tag", id="tag-without-key"),
    pytest.param("{tags.{x}", "names no tag", id="tag-key-with-brace"),
    pytest.param("x" * 2049, "longer than 2048", id="too-long"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "fragment"), REFUSED)
def test_parse_refuses(text: str, fragment: str) -> None:
    with pytest.raises(InvalidValue) as err:
        templates.parse(text, "TargetURI")
    assert err.value.code == "InvalidArgument"
    assert err.value.message.startswith("The parameter TargetURI is invalid: ")
    assert fragment in err.value.message


def test_parse_accepts_the_maximum_length() -> None:
    assert templates.parse("x" * 2048).parts == ("x" * 2048,)


# --- check -------------------------------------------------------------------------------

CHECKED = [
    # (template, tags, error fragment or None)
    pytest.param("oss://b12/{dirname}/{barename}/{index}.{autoext}", {}, None, id="doc-example"),
    pytest.param("oss://b12/{t_year}{t_mon}{t_day}/{sheetname}_{index}", {}, None, id="all-kinds"),
    pytest.param("oss://b12/{tags.custom}/{index}", {"custom": "x"}, None, id="tag-present"),
    pytest.param("oss://b12/{pagenumber}", {}, "unknown template variable(s) {pagenumber}",
                 id="no-pagenumber-variable"),
    pytest.param("oss://b12/{zeta}{alpha}", {}, "unknown template variable(s) {alpha}, {zeta}",
                 id="unknown-sorted"),
    pytest.param("oss://b12/{tags.custom}", {}, "{tags.custom} but Tags has no such key",
                 id="tag-absent"),
    pytest.param("oss://b12/{tags.custom}", {"Custom": "x"}, "but Tags has no such key",
                 id="tag-keys-are-case-sensitive"),
    pytest.param("oss://b12/{tags}", {"x": 1}, "unknown template variable(s) {tags}",
                 id="bare-tags-namespace"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "tags", "fragment"), CHECKED)
def test_check(text: str, tags: dict[str, Any], fragment: str | None) -> None:
    template = templates.parse(text)
    if fragment is None:
        templates.check(template, templates.OFFICE_VARIABLES, tags, "TargetURI")
        return
    with pytest.raises(InvalidValue) as err:
        templates.check(template, templates.OFFICE_VARIABLES, tags, "TargetURI")
    assert err.value.code == "InvalidArgument"
    assert fragment in err.value.message


def test_office_only_variables_are_unknown_to_other_operations() -> None:
    template = templates.parse("oss://b12/{index}")
    with pytest.raises(InvalidValue) as err:
        templates.check(template, templates.PUBLIC_VARIABLES, {}, "TargetURI")
    assert "{index}" in err.value.message


# --- render ------------------------------------------------------------------------------

RENDERED = [
    # (template, tags, expected text)
    pytest.param("oss://{bucket}/out/{dirname}/{barename}/{index}.{autoext}", {},
                 "oss://b12/out/dir/sub/report/3.png", id="doc-example"),
    pytest.param("{{{barename}}}", {}, "{report}", id="escaped-braces"),
    pytest.param("{tags.user}", {"user": "Jane"}, "Jane", id="string-tag"),
    pytest.param("{tags.num}", {"num": 3}, "3", id="int-tag-as-json"),
    pytest.param("{tags.flag}", {"flag": True}, "true", id="bool-tag-as-json"),
    pytest.param("{tags.none}", {"none": None}, "null", id="null-tag-as-json"),
    pytest.param("{tags.list}", {"list": ["a", 1]}, '["a", 1]', id="list-tag-as-json"),
    pytest.param("{tags.obj}", {"obj": {"k": "测"}}, '{"k": "测"}', id="object-tag-unescaped"),
    pytest.param("{tags.x}", {"x": "{index}"}, "{index}", id="tag-value-not-re-expanded"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "tags", "expected"), RENDERED)
def test_render(text: str, tags: dict[str, Any], expected: str) -> None:
    assert templates.parse(text).render(VALUES, tags) == expected


def test_render_does_not_re_expand_a_variable_value() -> None:
    values = {**VALUES, "barename": "{index}{{x}}"}
    assert templates.parse("{barename}/{index}").render(values, {}) == "{index}{{x}}/3"


def test_render_reads_values_once_each() -> None:
    # A template built directly (not parsed) renders the same way.
    t = Template(("p-", Field("index"), "-", Field("tags.k")))
    assert t.render({"index": "7"}, {"k": "v"}) == "p-7-v"


# --- render_uri --------------------------------------------------------------------------

URIS = [
    # (template, values override, tags, expected URI)
    pytest.param("oss://b12/out/{dirname}/{barename}/{index}.{autoext}", {"dirname": ""}, {},
                 "oss://b12/out/report/3.png", id="empty-dirname-collapses"),
    pytest.param("oss://b12/{dirname}/{index}.{autoext}", {"dirname": ""}, {},
                 "oss://b12/3.png", id="empty-dirname-at-start"),
    pytest.param("oss://b12/{tags.a}/{tags.b}/x.png", {}, {"a": "", "b": ""},
                 "oss://b12/x.png", id="empty-tags-collapse"),
    pytest.param("oss://b12/{dirname}/{basename}.{autoext}", {}, {},
                 "oss://b12/dir/sub/report.docx.png", id="nested-dirname"),
    pytest.param("oss://b12/{tags.p}/{index}.png", {}, {"p": "测试 目录"},
                 "oss://b12/测试 目录/3.png", id="chinese-tag"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "override", "tags", "expected"), URIS)
def test_render_uri(
    text: str, override: dict[str, str], tags: dict[str, Any], expected: str
) -> None:
    uri = templates.render_uri(templates.parse(text), {**VALUES, **override}, tags, "TargetURI")
    assert str(uri) == expected


BAD_URIS = [
    # (template, tags, fragment)
    pytest.param("oss://b12/out/{tags.t}/a.png", {"t": "../x"}, "'.' or '..'", id="dotdot-tag"),
    pytest.param("oss://b12/{tags.t}/a.png", {"t": ".."}, "'.' or '..'", id="dotdot-at-root"),
    pytest.param("oss://b12/{tags.t}a.png", {"t": "\\abs"}, "must not start with '/' or '\\'",
                 id="backslash-tag"),
    pytest.param("oss://b12/{tags.t}", {"t": "a\x00b"}, "control characters", id="nul-tag"),
    pytest.param("oss://{tags.t}/a.png", {"t": "Bad_Bucket"}, "3-63 characters", id="bad-bucket"),
    pytest.param("oss://b12/{tags.t}", {"t": "dir/"}, "names a directory", id="directory"),
    pytest.param("oss://b12/{tags.t}", {"t": ""}, "the object key is empty", id="empty-key"),
    pytest.param("{tags.t}", {"t": "http://evil/x"}, "must have the form", id="not-oss"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "tags", "fragment"), BAD_URIS)
def test_render_uri_refuses(text: str, tags: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidValue) as err:
        templates.render_uri(templates.parse(text), VALUES, tags, "TargetURI")
    assert err.value.code == "InvalidArgument"
    assert "TargetURI" in err.value.message
    assert fragment in err.value.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [("s", "s"), (1, "1"), (1.5, "1.5"), (False, "false"), ({"a": [1]}, '{"a": [1]}')],
)
def test_tag_text(value: Any, expected: str) -> None:
    assert templates.tag_text(value) == expected
