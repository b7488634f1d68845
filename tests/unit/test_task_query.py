"""ListTasks parameters: TagSelector, time ranges, sort/order, page tokens (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imm_engine.errors import InvalidValue
from imm_engine.models import iso_time
from imm_engine.state.query import (
    Cursor,
    TagCondition,
    TaskQuery,
    TimeRange,
    build_query,
    decode_token,
    encode_token,
    parse_tag_selector,
    parse_time,
    parse_time_range,
    tag_text,
)


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("test=val1", [TagCondition("test", "eq", "val1")]),
        ("a==1", [TagCondition("a", "eq", "1")]),
        ("a=1,b=2", [TagCondition("a", "eq", "1"), TagCondition("b", "eq", "2")]),
        ("a=1 and b=2", [TagCondition("a", "eq", "1"), TagCondition("b", "eq", "2")]),
        ("a=1 AND b!=2", [TagCondition("a", "eq", "1"), TagCondition("b", "ne", "2")]),
        (" a = 1 , b ", [TagCondition("a", "eq", "1"), TagCondition("b", "has")]),
        ("!gone", [TagCondition("gone", "missing")]),
        ('"a,b"="x=y"', [TagCondition("a,b", "eq", "x=y")]),
        ('k="say \\"hi\\""', [TagCondition("k", "eq", 'say "hi"')]),
        ('k="two words"', [TagCondition("k", "eq", "two words")]),
        ("中文=值", [TagCondition("中文", "eq", "值")]),
        ("", []),
        ("   ", []),
    ],
)
def test_tag_selector_parses(text: str, expected: list[TagCondition]) -> None:
    assert list(parse_tag_selector(text)) == expected


@pytest.mark.parametrize(
    "text",
    ["=v", "a=", "a=1,", ",a=1", "a=1 b=2", "a=1,,b=2", '"unterminated=1', "a=1 and", "!", "a!"],
)
def test_bad_tag_selectors_are_refused(text: str) -> None:
    with pytest.raises(InvalidValue) as info:
        parse_tag_selector(text)
    assert info.value.code == "InvalidArgument" and "TagSelector" in info.value.message


@pytest.mark.parametrize(
    ("selector", "tags", "matches"),
    [
        ("test=val1", {"test": "val1"}, True),
        ("test=val1", {"test": "val2"}, False),
        ("test=val1", {}, False),
        ("n=1", {"n": 1}, True),  # non-string values compare as their JSON text
        ("b=true", {"b": True}, True),
        ("f=1.5", {"f": 1.5}, True),
        ("a!=1", {}, True),
        ("a!=1", {"a": "1"}, False),
        ("a", {"a": ""}, True),
        ("!a", {"a": ""}, False),
        ("a=1,b=2", {"a": "1", "b": "2"}, True),
        ("a=1,b=2", {"a": "1", "b": "3"}, False),
    ],
)
def test_tag_conditions_match(selector: str, tags: dict[str, Any], matches: bool) -> None:
    conditions = parse_tag_selector(selector)
    assert all(c.matches(tags) for c in conditions) is matches


def test_tag_text() -> None:
    assert (tag_text("x"), tag_text(1), tag_text(None), tag_text([1, 2])) == (
        "x",
        "1",
        "null",
        "[1,2]",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-02T03:04:05Z", ts("2024-01-02T03:04:05")),
        ("2024-01-02T03:04:05", ts("2024-01-02T03:04:05")),
        ("2024-01-02T03:04:05.5Z", ts("2024-01-02T03:04:05") + 0.5),
        ("2021-12-24T03:01:41.662060377Z", ts("2021-12-24T03:01:41") + 0.662060377),
        ("2024-01-02T11:04:05+08:00", ts("2024-01-02T03:04:05")),
        ("2024-01-02T03:04:05-0130", ts("2024-01-02T04:34:05")),
    ],
)
def test_times_parse(text: str, expected: float) -> None:
    assert parse_time(text, "StartTimeRange") == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "value", ["yesterday", "2024-13-01T00:00:00Z", "2024-01-02", 1700000000, "2024-01-02T03:04Z"]
)
def test_bad_times_are_refused(value: Any) -> None:
    with pytest.raises(InvalidValue) as info:
        parse_time(value, "StartTimeRange")
    assert "StartTimeRange" in info.value.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ({}, TimeRange(None, None)),
        ({"Start": "2024-01-01T00:00:00Z"}, TimeRange(ts("2024-01-01T00:00:00"), None)),
        ({"End": "2024-01-01T00:00:00Z", "Start": ""}, TimeRange(None, ts("2024-01-01T00:00:00"))),
    ],
)
def test_time_ranges(value: Any, expected: TimeRange | None) -> None:
    assert parse_time_range(value, "EndTimeRange") == expected


@pytest.mark.parametrize(
    "value",
    [
        {"Start": "2024-01-02T00:00:00Z", "End": "2024-01-01T00:00:00Z"},  # reversed
        {"From": "2024-01-01T00:00:00Z"},  # unknown field
        ["2024-01-01T00:00:00Z"],
    ],
)
def test_bad_time_ranges_are_refused(value: Any) -> None:
    with pytest.raises(InvalidValue):
        parse_time_range(value, "EndTimeRange")


def query(**kwargs: Any) -> TaskQuery:
    base: dict[str, Any] = {
        "task_types": None,
        "status": None,
        "start_range": None,
        "end_range": None,
        "tag_selector": None,
        "sort": None,
        "order": None,
        "max_results": None,
        "next_token": None,
        "with_definition": False,
    }
    base.update(kwargs)
    return build_query(**base)


def test_defaults_are_imms() -> None:
    q = query()
    assert (q.sort, q.order, q.max_results, q.status, q.task_types) == (
        "TaskId",
        "asc",
        100,
        None,
        None,
    )
    assert query(max_results=0).max_results == 100


@pytest.mark.parametrize(
    ("kwargs", "attr", "expected"),
    [
        ({"sort": "starttime"}, "sort", "StartTime"),
        ({"sort": "EndTime"}, "sort", "EndTime"),
        ({"order": "DESC"}, "order", "desc"),
        ({"order": "ASC"}, "order", "asc"),
        ({"status": "succeeded"}, "status", "Succeeded"),
        (
            {"task_types": ["OfficeConversion", "ImageToPDF"]},
            "task_types",
            frozenset({"OfficeConversion", "ImageToPDF"}),
        ),
        ({"task_types": []}, "task_types", None),
    ],
)
def test_values_are_normalised(kwargs: dict[str, Any], attr: str, expected: Any) -> None:
    assert getattr(query(**kwargs), attr) == expected


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sort": "Size"},
        {"order": "up"},
        {"status": "Queued"},
        {"task_types": "OfficeConversion"},
        {"task_types": [1]},
        {"task_types": ["no spaces"]},
        {"next_token": "not-a-token"},
    ],
)
def test_bad_values_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidValue) as info:
        query(**kwargs)
    assert info.value.code == "InvalidArgument"


def test_token_round_trips() -> None:
    cursor = Cursor("StartTime", "desc", 1700000000123.0, "OfficeConversion-abc", "0123456789ab")
    token = encode_token(cursor)
    assert token.isascii() and "=" not in token
    assert decode_token(token) == cursor


def test_token_is_bound_to_sort_order_and_filters() -> None:
    first = query(sort="StartTime", status="Failed")
    token = encode_token(Cursor("StartTime", "asc", 5.0, "OfficeConversion-x", first.digest))
    assert query(sort="StartTime", status="Failed", next_token=token).cursor is not None
    for other in (
        {"sort": "TaskId", "status": "Failed"},
        {"sort": "StartTime", "status": "Failed", "order": "desc"},
        {"sort": "StartTime", "status": "Running"},
        {"sort": "StartTime", "status": "Failed", "tag_selector": "a=1"},
    ):
        with pytest.raises(InvalidValue) as info:
            query(next_token=token, **other)
        assert "NextToken" in info.value.message
    # Page size and RequestDefinition may change between pages.
    assert query(sort="StartTime", status="Failed", next_token=token, max_results=5).cursor


def test_query_matches_every_filter() -> None:
    q = query(
        task_types=["OfficeConversion"],
        status="Succeeded",
        start_range={"Start": "2024-01-01T00:00:00Z"},
        end_range={"End": "2024-01-03T00:00:00Z"},
        tag_selector="a=1",
    )
    start, end = ts("2024-01-02T00:00:00"), ts("2024-01-02T01:00:00")
    good: dict[str, Any] = {
        "task_type": "OfficeConversion",
        "status": "Succeeded",
        "start_ts": start,
        "end_ts": end,
        "tags": {"a": 1},
    }
    assert q.matches(**good)
    for change in (
        {"task_type": "ImageToPDF"},
        {"status": "Failed"},
        {"start_ts": ts("2023-12-31T00:00:00")},
        {"end_ts": ts("2024-01-04T00:00:00")},
        {"end_ts": 0.0},  # still running: no end time
        {"tags": {"a": 2}},
    ):
        assert not q.matches(**{**good, **change}), change


@given(st.floats(min_value=0, max_value=4e9, allow_nan=False))
def test_a_shown_time_is_a_bound_that_includes_its_task(ts: float) -> None:
    """StartTime copied from GetTask into StartTimeRange finds that task, both as Start and
    as End; a bound one microsecond off does not (was wrong for about 1 time in 8)."""
    shown = parse_time(iso_time(ts), "StartTimeRange")
    assert TimeRange(shown, shown).contains(ts)
    assert not TimeRange(shown + 1e-6 * 1.5, None).contains(ts)
    assert not TimeRange(None, shown - 1e-6 * 1.5).contains(ts)
