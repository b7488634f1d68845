"""Wire parameters (imm_engine/api/params.py), spec sections 9 and 10.2."""

from __future__ import annotations

from typing import Any

import pytest

from imm_engine.api.params import Params, refusal
from imm_engine.errors import ApiError, InvalidValue, invalid


def p(**values: str) -> Params:
    return Params(values.items())


# --- construction ------------------------------------------------------------------------


def test_duplicate_name_is_refused() -> None:
    with pytest.raises(ApiError) as err:
        Params([("SourceURI", "oss://a/b"), ("TargetType", "png"), ("SourceURI", "oss://a/c")])
    assert err.value.code == "InvalidArgument"
    assert err.value.status == 400
    assert err.value.message == "The parameter SourceURI is invalid: it is given more than once"


def test_same_value_twice_is_still_refused() -> None:
    with pytest.raises(ApiError) as err:
        Params([("A", "1"), ("A", "1")])
    assert err.value.code == "InvalidArgument"


def test_names_are_case_sensitive() -> None:
    params = Params([("Pages", "1"), ("pages", "2")])
    assert params.raw("Pages") == "1"
    assert params.raw("pages") == "2"
    assert "Pages" in params
    assert "PAGES" not in params


# --- strings -----------------------------------------------------------------------------

STRINGS = [
    # (raw value, result)
    pytest.param(None, None, id="absent"),
    pytest.param("", None, id="empty-is-absent"),
    pytest.param(" x ", " x ", id="kept-as-is"),
    pytest.param("测试", "测试", id="unicode"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "expected"), STRINGS)
def test_get_str(raw: str | None, expected: str | None) -> None:
    params = Params([] if raw is None else [("Name", raw)])
    assert params.get_str("Name") == expected


@pytest.mark.parametrize(
    ("raw", "max_bytes", "ok"),
    [
        pytest.param("a" * 10, 10, True, id="at-limit"),
        pytest.param("a" * 11, 10, False, id="over-limit"),
        pytest.param("测" * 3, 9, True, id="utf8-bytes-at-limit"),
        pytest.param("测" * 4, 9, False, id="utf8-bytes-counted-not-chars"),
    ],
)
def test_get_str_byte_limit(raw: str, max_bytes: int, ok: bool) -> None:
    params = p(UserData=raw)
    if ok:
        assert params.get_str("UserData", max_bytes=max_bytes) == raw
        return
    with pytest.raises(ApiError) as err:
        params.get_str("UserData", max_bytes=max_bytes)
    assert err.value.code == "InvalidArgument"
    assert f"longer than {max_bytes} bytes" in err.value.message


@pytest.mark.parametrize(
    "pairs", [pytest.param([], id="absent"), pytest.param([("SourceURI", "")], id="empty")]
)
def test_missing_required_gives_missing_name(pairs: list[tuple[str, str]]) -> None:
    with pytest.raises(ApiError) as err:
        Params(pairs).get_str("SourceURI", required=True)
    assert err.value.code == "MissingSourceURI"
    assert err.value.status == 400
    assert err.value.message == "SourceURI is mandatory for this action."


# --- booleans ----------------------------------------------------------------------------

BOOLEANS = [
    # (raw, expected)
    pytest.param("True", True, id="python-sdk-True"),
    pytest.param("False", False, id="python-sdk-False"),
    pytest.param("true", True, id="lower-true"),
    pytest.param("false", False, id="lower-false"),
    pytest.param("TRUE", True, id="upper-TRUE"),
    pytest.param("FALSE", False, id="upper-FALSE"),
    pytest.param("1", True, id="one"),
    pytest.param("0", False, id="zero"),
    pytest.param(" true ", True, id="padded"),
    pytest.param("yes", True, id="yes"),
    pytest.param("No", False, id="no"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "expected"), BOOLEANS)
@pytest.mark.parametrize("default", [True, False], ids=["default-true", "default-false"])
def test_get_bool(raw: str, expected: bool, default: bool) -> None:
    assert p(LongText=raw).get_bool("LongText", default) is expected


@pytest.mark.parametrize("default", [True, False])
@pytest.mark.parametrize("pairs", [[], [("LongText", "")]], ids=["absent", "empty"])
def test_get_bool_default(pairs: list[tuple[str, str]], default: bool) -> None:
    assert Params(pairs).get_bool("LongText", default) is default


BAD_BOOLEANS = [
    # (raw, fragment)
    pytest.param("maybe", "'maybe' is not a boolean", id="junk"),
    pytest.param("2", "'2' is not a boolean", id="two"),
    pytest.param("t", "'t' is not a boolean", id="abbreviation"),
    pytest.param("on", "'on' is not a boolean", id="on"),
    pytest.param("true!!!!!", "longer than 8 bytes", id="too-long"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "fragment"), BAD_BOOLEANS)
def test_get_bool_refuses(raw: str, fragment: str) -> None:
    with pytest.raises(ApiError) as err:
        p(LongText=raw).get_bool("LongText")
    assert err.value.code == "InvalidArgument"
    assert err.value.message.startswith("The parameter LongText is invalid: ")
    assert fragment in err.value.message


# --- integers ----------------------------------------------------------------------------

INTS = [
    # (raw, lo, hi, expected)
    pytest.param("150", 96, 600, 150, id="plain"),
    pytest.param("96", 96, 600, 96, id="at-lo"),
    pytest.param("600", 96, 600, 600, id="at-hi"),
    pytest.param(" 200 ", 96, 600, 200, id="padded"),
    pytest.param("-1", -(2**31), 2**31, -1, id="negative"),
    pytest.param("+7", 0, 10, 7, id="plus-sign"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "lo", "hi", "expected"), INTS)
def test_get_int(raw: str, lo: int, hi: int, expected: int) -> None:
    assert p(ImageDPI=raw).get_int("ImageDPI", lo=lo, hi=hi) == expected


def test_get_int_absent_is_none() -> None:
    assert p().get_int("ImageDPI", lo=96, hi=600) is None


def test_get_int_required() -> None:
    with pytest.raises(ApiError) as err:
        p().get_int("StartPage", lo=1, hi=10, required=True)
    assert err.value.code == "MissingStartPage"


BAD_INTS = [
    # (raw, fragment)
    pytest.param("95", "95 is outside the range 96 to 600", id="below"),
    pytest.param("601", "601 is outside the range 96 to 600", id="above"),
    pytest.param("abc", "'abc' is not an integer", id="letters"),
    pytest.param("1.5", "'1.5' is not an integer", id="decimal"),
    pytest.param("1e3", "'1e3' is not an integer", id="exponent"),
    pytest.param("0x10", "'0x10' is not an integer", id="hex"),
    pytest.param("9" * 33, "longer than 32 bytes", id="too-long"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "fragment"), BAD_INTS)
def test_get_int_refuses(raw: str, fragment: str) -> None:
    with pytest.raises(ApiError) as err:
        p(ImageDPI=raw).get_int("ImageDPI", lo=96, hi=600)
    assert err.value.code == "InvalidArgument"
    assert err.value.message.startswith("The parameter ImageDPI is invalid: ")
    assert fragment in err.value.message


# --- JSON --------------------------------------------------------------------------------

JSONS = [
    # (raw, kind, decoded)
    pytest.param('{"User":"Jane","Num":3}', dict, {"User": "Jane", "Num": 3}, id="sdk-tags"),
    pytest.param('{"MNS":{"TopicName":"imm-topic"}}', dict, {"MNS": {"TopicName": "imm-topic"}},
                 id="notification"),
    pytest.param('["OfficeConversion","FileCompression"]', list,
                 ["OfficeConversion", "FileCompression"], id="array"),
    pytest.param('{"k":"测试"}', dict, {"k": "测试"}, id="unicode"),
    pytest.param("{}", dict, {}, id="empty-object"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "kind", "decoded"), JSONS)
def test_get_json(raw: str, kind: type, decoded: Any) -> None:
    assert p(Tags=raw).get_json("Tags", kind) == decoded


def test_get_json_absent_is_none() -> None:
    assert p().get_json("Tags", dict) is None
    assert p(Tags="").get_json("Tags", dict) is None


BAD_JSON = [
    pytest.param("{", id="unclosed"),
    pytest.param("{'a': 1}", id="single-quotes"),
    pytest.param("User=Jane", id="not-json"),
    pytest.param('{"a":1,}', id="trailing-comma"),
    pytest.param('{"a":NaN}', id="nan"),
    pytest.param('{"a":-Infinity}', id="infinity"),
]  # fmt: skip


@pytest.mark.parametrize("raw", BAD_JSON)
def test_invalid_json_gives_invalid_json(raw: str) -> None:
    with pytest.raises(ApiError) as err:
        p(Notification=raw).get_json("Notification", dict)
    assert err.value.code == "InvalidJSON"
    assert err.value.status == 400
    assert "Notification" in err.value.message


TOO_DEEP = [
    pytest.param("[" * 5000, id="deeply-nested-unclosed"),
    pytest.param("[" * 5000 + "]" * 5000, id="deeply-nested"),
    pytest.param('{"a":' * 33 + "1" + "}" * 33, id="33-levels"),
]  # fmt: skip


@pytest.mark.parametrize("raw", TOO_DEEP)
def test_deeply_nested_json_is_refused_before_decoding(raw: str) -> None:
    with pytest.raises(ApiError) as err:
        p(Notification=raw).get_json("Notification", dict)
    assert err.value.code == "InvalidArgument"
    assert "nested more than 32 levels" in err.value.message


def test_unpaired_surrogate_escape_is_refused() -> None:
    with pytest.raises(ApiError) as err:
        p(Tags='{"a":"\\ud800"}').get_json("Tags", dict)
    assert err.value.code == "InvalidArgument"
    assert "unpaired surrogate" in err.value.message
    assert p(Tags='{"a":"\\ud83d\\ude00"}').get_json("Tags", dict) == {"a": "\U0001f600"}


WRONG_KIND = [
    # (raw, kind, fragment)
    pytest.param('["a"]', dict, "it must be a JSON object", id="array-for-object"),
    pytest.param('"text"', dict, "it must be a JSON object", id="string-for-object"),
    pytest.param("3", dict, "it must be a JSON object", id="number-for-object"),
    pytest.param("null", dict, "it must be a JSON object", id="null-for-object"),
    pytest.param('{"a":1}', list, "it must be a JSON array", id="object-for-array"),
    pytest.param('{"a":1}', str, "it must be str", id="object-for-other-kind"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "kind", "fragment"), WRONG_KIND)
def test_wrong_json_kind_gives_invalid_argument(raw: str, kind: type, fragment: str) -> None:
    with pytest.raises(ApiError) as err:
        p(Tags=raw).get_json("Tags", kind)
    assert err.value.code == "InvalidArgument"
    assert err.value.message == f"The parameter Tags is invalid: {fragment}"


def test_get_json_byte_limit() -> None:
    with pytest.raises(ApiError) as err:
        p(Tags='{"a":"' + "x" * 100 + '"}').get_json("Tags", dict, max_bytes=50)
    assert err.value.code == "InvalidArgument"
    assert "longer than 50 bytes" in err.value.message


# --- values refused by the pure parsers, as the API answers them ---------------------------


@pytest.mark.parametrize(
    ("field", "reason"),
    [
        ("Pages", "range 3-1 ends before it starts"),
        ("SourceURI", "'a\x00b\x85c\ud800' must have the form oss://bucket/object"),
        ("TargetURI", "x" * 2000),  # the message is cut at 1000 characters
    ],
)
def test_invalid_value_is_answered_as_invalid_argument(field: str, reason: str) -> None:
    err = InvalidValue(field, reason)
    answer, before = refusal(err), invalid(field, reason)
    assert (answer.code, answer.message, answer.status) == (before.code, before.message, 400)
    assert (err.code, err.message) == (answer.code, answer.message)  # what a worker fails with
    assert not isinstance(err, ApiError)
