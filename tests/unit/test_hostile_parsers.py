"""Hostile input against the pure parsers (uris, templates, pages, params, the submission).

Properties, checked with Hypothesis on generated input and with the explicit cases it found
(the `@example`s and tables are regressions: each was a bug, fixed in the code):

* a parser either returns a value or raises `ApiError` or, for the pure ones, `InvalidValue`
  (answered as `InvalidArgument` by the API: `refusal`), never another exception;
* an accepted object key has no control characters or unpaired surrogates, no `.`/`..`
  segment, does not start with `/` or `\\`, is at most 1023 UTF-8 bytes, and its bucket
  matches IMM's bucket rule exactly (ASCII, whole string);
* a rendered TargetURI obeys the same rules and stays in the bucket its template names;
* whatever the submission accepts can be stored (UTF-8, standard JSON) and read back.
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from imm_engine.api.params import MAX_JSON_DEPTH, Params, refusal
from imm_engine.errors import ApiError, InvalidValue, TaskFailure
from imm_engine.models import TaskRecord
from imm_engine.notify.routes import Routes
from imm_engine.targets import templates, uris
from imm_engine.targets.naming import Namer
from imm_engine.tasktypes import SubmitContext
from imm_engine.tasktypes.base import project_name
from imm_engine.tasktypes.office import pages
from imm_engine.tasktypes.office_conversion import TASK_TYPE as SPEC
from tests.support.hostile_params import (
    BUCKET_RULE,
    VALID,
    hostile_text,
    long_text,
    param_maps,
    pieces,
    uri_like,
)


def has_control(text: str) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cs") for c in text)


def assert_safe(uri: uris.OssUri, *, prefix: bool = False) -> None:
    assert BUCKET_RULE.fullmatch(uri.bucket), uri.bucket
    key = uri.key
    assert not has_control(key), repr(key)
    assert len(key.encode("utf-8")) <= uris.MAX_KEY_BYTES
    assert not key.startswith(("/", "\\"))
    assert not any(seg in (".", "..") for seg in key.split("/")), repr(key)
    if prefix:
        assert key == "" or key.endswith("/")
    else:
        assert key and not key.endswith("/")


def refused(err: ApiError | InvalidValue, name: str) -> None:
    answer = refusal(err) if isinstance(err, InvalidValue) else err  # as the API answers it
    assert answer.code == "InvalidArgument" and answer.status == 400
    assert name in answer.message
    assert len(answer.message) < 1000
    assert not has_control(answer.message)


# --- uris --------------------------------------------------------------------------------


@given(uri_like)
@example("oss://abc\n/x.docx")  # `$` matched before a trailing newline: bucket "abc\n"
@example("oss://bkt/\ud800.docx")  # unpaired surrogate: UnicodeEncodeError, not ApiError
@example("oss://bkt/a\x85b.docx")  # C1 control character
@example("oss://bkt/%2e%2e/x.docx")  # percent signs are literal in OSS keys: a plain name
def test_parse_object_accepts_only_safe_keys(text: str) -> None:
    try:
        uri = uris.parse_object(text, "SourceURI")
    except InvalidValue as err:
        refused(err, "SourceURI")
        return
    assert_safe(uri)
    assert str(uri) == text


@given(uri_like)
@example("oss://abc\n/out/")
@example("oss://bkt/" + "k" * 1023)  # the slash added to a 1023-byte prefix made 1024 bytes
@example("oss://bkt/\udfff/")
def test_parse_prefix_accepts_only_safe_keys(text: str) -> None:
    try:
        uri = uris.parse_prefix(text, "TargetURIPrefix")
    except InvalidValue as err:
        refused(err, "TargetURIPrefix")
        return
    assert_safe(uri, prefix=True)


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("oss://abc\n/x.docx", "3-63 characters"),
        ("oss://abc\r\n/x.docx", "3-63 characters"),
        ("oss://ａbc/x.docx", "3-63 characters"),  # full-width letter
        ("oss://bkt/\ud800.docx", "unpaired surrogate"),
        ("oss://bkt/a\x85b.docx", "control characters"),
        ("oss://bkt/a\x9fb.docx", "control characters"),
    ],
)
def test_hostile_uris_are_refused(uri: str, fragment: str) -> None:
    with pytest.raises(InvalidValue) as err:
        uris.parse_object(uri, "SourceURI")
    refused(err.value, "SourceURI")
    assert fragment in err.value.message


@pytest.mark.parametrize(
    "key",
    [
        "%2e%2e/x.docx",  # percent-encoding is not decoded: a segment named "%2e%2e"
        "a\\..\\b.docx",  # a backslash is an ordinary character inside an OSS key
        "．．/x.docx",  # full-width full stops: another name, never normalised to ".."
        "\u2024\u2024/x.docx",  # one-dot leaders
        "a/\u202eexe.docx",  # bidi override: a (confusing) valid name
        "...",
    ],
)
def test_look_alikes_are_plain_names(key: str) -> None:
    uri = uris.parse_object(f"oss://bkt/{key}", "SourceURI")
    assert uri.key == key


# --- templates ---------------------------------------------------------------------------

template_pieces = st.one_of(
    st.sampled_from(
        ["{index}", "{autoext}", "{dirname}", "{barename}", "{sheetname}", "{tags.t}",
         "{tags.x}", "{tags.}", "{nosuch}", "{index!r}", "{index:>3}", "{index.__class__}",
         "{0}", "{}", "{tags.{index}}", "{tags.t}{tags.t}", "oss://bkt/", "/", "..", "."]
    ),
    pieces,
)  # fmt: skip
template_text = st.one_of(
    st.lists(template_pieces, max_size=10).map(lambda p: "oss://bkt/" + "".join(p)),
    st.lists(template_pieces, max_size=10).map("".join),
)
tag_values = st.one_of(
    hostile_text, st.integers(), st.none(), st.booleans(), st.lists(st.integers(), max_size=3)
)
tag_maps = st.dictionaries(st.sampled_from(["t", "x", "a b"]), tag_values, max_size=3)
#: Runtime values: what the source and the document may put in them (sheet names are
#: chosen by whoever wrote the spreadsheet).
BASE_VALUES = {
    "bucket": "bkt", "key": "d/r.docx", "dirname": "d", "barename": "r",
    "basename": "r.docx", "ext": "docx", "year": "2024", "mon": "01", "day": "02",
    "hour": "03", "min": "04", "sec": "05", "t_year": "2025", "t_mon": "06",
    "t_day": "07", "t_hour": "08", "t_min": "09", "t_sec": "10", "autoext": "png",
    "index": "1", "sheetname": "Sheet1",
}  # fmt: skip
value_maps = st.fixed_dictionaries(
    {}, optional={"index": st.sampled_from(["1", "1_1", "12"]), "sheetname": hostile_text}
)


@given(template_text, tag_maps, value_maps)
@example("oss://bkt/{tags.t}/x.png", {"t": "/../"}, {})  # tag value climbing out
@example("oss://bkt/{tags.t}{index}.png", {"t": "{index}"}, {"index": "1"})  # no recursion
@example("oss://{tags.t}/x.png", {"t": "bkt/../../etc"}, {})  # tag in the bucket slot
@example("oss://bkt/{dirname}/../x.png", {}, {})  # `..` next to a variable
@example("oss://bkt/{tags.t}.png", {"t": "\ud800"}, {})  # surrogate from a JSON \u escape
def test_rendered_uri_never_escapes(
    text: str, tags: dict[str, Any], values: dict[str, str]
) -> None:
    values = {**BASE_VALUES, **values}
    try:
        template = templates.parse(text, "TargetURI")
        templates.check(template, templates.OFFICE_VARIABLES, tags, "TargetURI")
        uri = templates.render_uri(template, values, tags, "TargetURI")
    except InvalidValue as err:
        refused(err, "TargetURI")
        return
    assert_safe(uri)
    if text.startswith("oss://bkt/"):
        assert uri.bucket == "bkt"


@given(hostile_text)
@example("{index}")
@example("{tags.t}")
@example("}}{{")
def test_values_are_inserted_once_as_text(value: str) -> None:
    template = templates.parse("oss://bkt/out/{tags.t}-{index}.png")
    try:
        uri = templates.render_uri(template, {"index": "3"}, {"t": value}, "TargetURI")
    except InvalidValue as err:
        refused(err, "TargetURI")
        return
    assert uri.key == uris.normalise_rendered_key(f"out/{value}-3.png")


@pytest.mark.parametrize(
    "text",
    [
        "oss://bkt/{",
        "oss://bkt/}",
        "oss://bkt/{index",
        "oss://bkt/index}",
        "oss://bkt/{{index}",
        "oss://bkt/{in{dex}}",
        "oss://bkt/{tags.}",
        "oss://bkt/{tags.{index}}",
        "oss://bkt/{index!r}",
        "oss://bkt/{index:>3}",
        "oss://bkt/{index.__class__}",
        "oss://bkt/{0}",
        "oss://bkt/{}",
        "oss://bkt/{ index }",
        "oss://bkt/{nosuch}",
        "oss://bkt/" + "{index}" * 400,  # over 2048 characters
    ],
)
def test_malformed_templates_are_refused(text: str) -> None:
    with pytest.raises(InvalidValue) as err:
        template = templates.parse(text, "TargetURI")
        templates.check(template, templates.OFFICE_VARIABLES, {}, "TargetURI")
    refused(err.value, "TargetURI")


# --- the worker's names: values known only at run time -----------------------------------


@given(st.one_of(hostile_text, long_text), tag_maps)
@example("..", {})  # a sheet named ".."
@example("a/../../etc", {})
@example("\x00", {})
@example("\ud800", {})
@example("", {})
def test_run_time_names_fail_the_task_cleanly(sheet: str, tags: dict[str, Any]) -> None:
    namer = Namer(
        "oss://bkt/d/book.xlsx",
        tags,
        template="oss://bkt/o/{sheetname}/{index}",
        source_mtime=0.0,
        task_start=time.time(),
        single=False,
    )
    try:
        uri = namer.uri(index="1_1", autoext="png", sheetname=sheet)
    except TaskFailure as failure:
        assert failure.code == "InvalidArgument" and "TargetURI" in failure.message
        return
    assert_safe(uri)
    assert uri.key.startswith("o/")


# --- pages -------------------------------------------------------------------------------

page_text = st.one_of(
    st.text(max_size=30),
    st.lists(
        st.one_of(
            st.integers(-10, 2_000_000).map(str),
            st.sampled_from(["-", ",", " ", "1e3", "0x10", "١", "٣", "1.5", "+1", "", "\n",
                             "1_0", "９", "\u3000", "9" * 50]),
        ),
        max_size=20,
    ).map("".join),
)  # fmt: skip


@given(page_text)
@example("١-٣")  # Arabic-Indic digits were read as 1-3
@example("９")
@example("1_0")
@example("9" * 4000)
@example("1," * 1001)
def test_pages_accepts_only_ascii_ranges(text: str) -> None:
    try:
        sel = pages.parse_pages(text)
    except InvalidValue as err:
        refused(err, "Pages")
        return
    assert re.fullmatch(r"[0-9,\- \t\r\n\f\v]+", text), repr(text)
    assert 1 <= len(sel.ranges) <= pages.MAX_RANGES
    for start, end in sel.ranges:
        assert end is not None and 1 <= start <= end <= pages.MAX_PAGE
    for count in (0, 1, 7):
        assert all(1 <= p <= count for p in sel.resolve(count))


@given(st.one_of(st.none(), st.integers()), st.one_of(st.none(), st.integers()))
def test_start_end_pages(start: int | None, end: int | None) -> None:
    try:
        sel = pages.from_start_end(start, end)
    except InvalidValue as err:
        assert err.code == "InvalidArgument"
        return
    ((first, last),) = sel.ranges
    assert 1 <= first <= pages.MAX_PAGE
    assert last is None or first <= last <= pages.MAX_PAGE


# --- params ------------------------------------------------------------------------------

int_text = st.one_of(
    st.text(max_size=12),
    st.integers().map(str),
    st.sampled_from(["96.0", "1e3", "0x60", "1_000", "٩٦", "９６", "+96", " 96 ", "-0", "inf",
                     "NaN", "9" * 40, "\x0096"]),
)  # fmt: skip


@given(int_text)
@example("1_0")  # int() accepts underscores
@example("٩٦")  # and any Unicode digits
@example("９６")
def test_integers_are_plain_ascii_decimals(text: str) -> None:
    params = Params([("ImageDPI", text)])
    try:
        value = params.get_int("ImageDPI", lo=96, hi=600)
    except ApiError as err:
        refused(err, "ImageDPI")
        return
    if value is not None:
        assert re.fullmatch(r"[+-]?[0-9]+", text.strip(), re.ASCII), repr(text)
        assert 96 <= value <= 600 and int(text.strip()) == value


json_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ['{"a":NaN}', '{"a":Infinity}', '{"a":-Infinity}', '{"a":"\\ud800"}', '{"\\udc00":1}',
         '{"a":1,"a":2}', "[" * 100000 + "]" * 100000, '{"a":' * 40 + "1" + "}" * 40,
         '{"a":' + "9" * 5000 + "}", "{}", '{"a":"\\u0000"}', "\ufeff{}", "{'a':1}", "null"]
    ),
)  # fmt: skip


@given(json_text)
@example('{"a":NaN}')  # stored as NaN, answered as invalid JSON
@example('{"a":"\\ud800"}')  # cannot be encoded as UTF-8 when stored
@example('{"a":' * 40 + "1" + "}" * 40)  # deeper than MAX_JSON_DEPTH
def test_json_parameters_decode_to_storable_values(text: str) -> None:
    params = Params([("Tags", text)])
    try:
        value = params.get_json("Tags", dict, max_bytes=1 << 20)
    except ApiError as err:
        assert err.code in ("InvalidJSON", "InvalidArgument") and "Tags" in err.message
        return
    if value is not None:
        assert isinstance(value, dict)
        encoded = json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
        assert json.loads(encoded) == value


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=5), json_values, max_size=4))
def test_ordinary_json_objects_are_accepted_as_sent(value: dict[str, Any]) -> None:
    params = Params([("Tags", json.dumps(value, ensure_ascii=False))])
    assert params.get_json("Tags", dict, max_bytes=1 << 20) == value


def test_json_nesting_limit_is_exact() -> None:
    ok = '{"a":' * (MAX_JSON_DEPTH - 1) + "1" + "}" * (MAX_JSON_DEPTH - 1)
    assert Params([("Tags", ok)]).get_json("Tags", dict, max_bytes=1 << 20)
    deep = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    with pytest.raises(ApiError) as err:
        Params([("Tags", '{"a":' + deep + "}")]).get_json("Tags", dict, max_bytes=1 << 20)
    assert err.value.code == "InvalidArgument"
    assert f"nested more than {MAX_JSON_DEPTH} levels" in err.value.message


@given(st.one_of(hostile_text, st.text(max_size=140)))
@example("abc\n")  # `$` matched before a trailing newline
@example("p\x00")
def test_project_names_follow_imms_rule(name: str) -> None:
    try:
        got = project_name(Params([("ProjectName", name)]))
    except ApiError as err:
        assert err.code in ("InvalidArgument", "MissingProjectName")
        return
    assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]{0,127}", got, re.ASCII)


# --- the whole submission ----------------------------------------------------------------

CTX = SubmitContext(Routes(), "reject")


@given(param_maps)
@example({**VALID, "Unknown": "[" * 3000})  # RecursionError while keeping the definition
@example({**VALID, "Unknown": '{"a":"\\ud800"}'})  # a surrogate in the stored definition
@example({**VALID, "Unknown": '{"a":NaN}'})  # NaN in the stored definition
@example({**VALID, "Tags": '{"t":"{index}"}', "TargetURI": "oss://bkt/{tags.t}/{index}.png"})
def test_accepted_submissions_can_be_stored_and_read_back(params: dict[str, str]) -> None:
    try:
        sub = SPEC.submission(Params(params.items()), CTX)
    except (ApiError, InvalidValue) as err:
        answer = refusal(err) if isinstance(err, InvalidValue) else err
        assert 400 <= answer.status < 500 and answer.code and answer.message
        return
    uris.parse_object(sub.job.source, "SourceURI")
    rec = TaskRecord(
        project=sub.project,
        task_type="OfficeConversion",
        task_id="OfficeConversion-x",
        request_id="R",
        event_id="E",
        start_ts=time.time(),
        tags=sub.tags,
        user_data=sub.user_data,
        notification=sub.notification,
        job=sub.job.to_record(),
        definition=sub.definition,
    )
    fields = rec.to_fields()
    for value in fields.values():
        value.encode("utf-8")
    for name in ("tags", "job", "definition", "notification"):
        json.loads(fields[name], parse_constant=_no_constants)  # standard JSON only
    back = TaskRecord.from_fields(fields)
    assert back.definition == rec.definition and back.tags == rec.tags
    assert SPEC.read_job(back.job) == sub.job
    json.dumps(back.task_info(with_definition=True), allow_nan=False).encode("utf-8")


def _no_constants(name: str) -> Any:
    raise AssertionError(f"{name} stored in a record")
