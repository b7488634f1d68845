"""ListTasks' parameters as a query: filters, order, page size and the page token (pure).

- `TaskTypes`: a JSON array of task-type names; a task matches if its type is one of them.
- `Status`: `Running`, `Succeeded` or `Failed` (any case).
- `StartTimeRange` / `EndTimeRange`: JSON `{"Start": t, "End": t}`, either bound optional,
  both inclusive; `t` is ISO-8601 (`2021-12-24T03:01:41.662060377Z`, an offset such as
  `+08:00`, or none for UTC). A running task has no end time and never matches an
  `EndTimeRange`.
- `TagSelector`: conditions joined by `,` or ` and `, all of which must hold: `key=value`
  (also `key==value`), `key!=value` (true when the tag is absent too), `key` (the tag is
  present), `!key` (absent). Keys and values may be double-quoted (`"a,b"="x=y"`, with `\\"`
  and `\\\\` escapes). Tag values that are not strings compare as their JSON text (`1`,
  `true`, `1.5`).
- `Sort`: `TaskId` (default), `StartTime`, `EndTime` (running tasks sort after every finished
  one); `Order`: `asc` (default) or `desc`.
- `MaxResults`: 1-100, default 100 (0 means the default).
- `NextToken`: opaque; it records the sort, the order, a digest of the filters and the position
  of the last task returned. A token used with another sort, order or filter is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from imm_engine.errors import InvalidValue
from imm_engine.models import micros

STATUSES = ("Running", "Succeeded", "Failed")
SORTS = ("TaskId", "StartTime", "EndTime")
ORDERS = ("asc", "desc")
DEFAULT_MAX_RESULTS = 100
MAX_MAX_RESULTS = 100
MAX_TASK_TYPES = 100
MAX_TAG_CONDITIONS = 20
_TASK_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,63}$")
_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(Z|z|[+-]\d{2}:?\d{2})?$"
)


@dataclass(frozen=True)
class TimeRange:
    """Inclusive bounds in epoch seconds; None is open."""

    start: float | None = None
    end: float | None = None

    def contains(self, ts: float) -> bool:
        """Compared in whole microseconds, rounded as GetTask shows them (`iso_time`): a time
        copied from a task's StartTime or EndTime is a bound that includes that task."""
        us = micros(ts)
        return (self.start is None or us >= micros(self.start)) and (
            self.end is None or us <= micros(self.end)
        )


@dataclass(frozen=True)
class TagCondition:
    key: str
    #: "eq", "ne", "has", "missing"
    op: str
    value: str = ""

    def matches(self, tags: dict[str, Any]) -> bool:
        present = self.key in tags
        if self.op == "has":
            return present
        if self.op == "missing":
            return not present
        equal = present and tag_text(tags[self.key]) == self.value
        return equal if self.op == "eq" else not equal


@dataclass(frozen=True)
class Cursor:
    """Where the previous page stopped: the sort score and the TaskId of its last task."""

    sort: str
    order: str
    score: float
    task_id: str
    digest: str


@dataclass(frozen=True)
class TaskQuery:
    task_types: frozenset[str] | None = None
    status: str | None = None
    start_range: TimeRange | None = None
    end_range: TimeRange | None = None
    tags: tuple[TagCondition, ...] = ()
    sort: str = "TaskId"
    order: str = "asc"
    max_results: int = DEFAULT_MAX_RESULTS
    cursor: Cursor | None = None
    with_definition: bool = False
    digest: str = field(default="", compare=False)

    def matches(
        self,
        task_type: str,
        status: str,
        start_ts: float,
        end_ts: float,
        tags: dict[str, Any],
    ) -> bool:
        """Whether a task passes every filter (the indexes only narrow the candidates)."""
        if self.task_types is not None and task_type not in self.task_types:
            return False
        if self.status is not None and status != self.status:
            return False
        if self.start_range is not None and not self.start_range.contains(start_ts):
            return False
        if self.end_range is not None and (not end_ts or not self.end_range.contains(end_ts)):
            return False
        return all(cond.matches(tags) for cond in self.tags)


def tag_text(value: Any) -> str:
    """A tag value as TagSelector compares it: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def parse_time(text: Any, name: str) -> float:
    """ISO-8601 (what GetTask returns) to epoch seconds; no offset means UTC."""
    if not isinstance(text, str):
        raise InvalidValue(name, "times must be ISO-8601 strings such as 2024-01-02T03:04:05Z")
    m = _TIME.match(text.strip())
    if not m:
        raise InvalidValue(
            name, f"'{text[:64]}' is not an ISO-8601 time such as 2024-01-02T03:04:05Z"
        )
    year, mon, day, hour, minute, sec, frac, zone = m.groups()
    tz: timezone = UTC
    if zone and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        moment = datetime(
            int(year), int(mon), int(day), int(hour), int(minute), int(sec), tzinfo=tz
        )
    except ValueError as exc:
        raise InvalidValue(name, f"'{text[:64]}' is not a valid time: {exc}") from None
    return moment.timestamp() + (int(frac.ljust(9, "0")) / 1e9 if frac else 0.0)


def parse_time_range(value: Any, name: str) -> TimeRange | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidValue(name, 'it must be a JSON object {"Start": ..., "End": ...}')
    unknown = set(value) - {"Start", "End"}
    if unknown:
        raise InvalidValue(name, f"unknown field {sorted(unknown)[0]!r}; use Start and End")
    start = value.get("Start")
    end = value.get("End")
    lo = parse_time(start, name) if start not in (None, "") else None
    hi = parse_time(end, name) if end not in (None, "") else None
    if lo is not None and hi is not None and lo > hi:
        raise InvalidValue(name, "Start is after End")
    return TimeRange(lo, hi)


def parse_task_types(value: Any) -> frozenset[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise InvalidValue(
            "TaskTypes", 'it must be a JSON array of task types, e.g. ["OfficeConversion"]'
        )
    if len(value) > MAX_TASK_TYPES:
        raise InvalidValue("TaskTypes", f"more than {MAX_TASK_TYPES} task types")
    for name in value:
        if not _TASK_TYPE.match(name):
            raise InvalidValue("TaskTypes", f"'{name[:64]}' is not a task type name")
    return frozenset(value) if value else None


def parse_status(value: str | None) -> str | None:
    if value is None:
        return None
    for status in STATUSES:
        if value.lower() == status.lower():
            return status
    raise InvalidValue("Status", f"'{value[:32]}' is not one of {', '.join(STATUSES)}")


def parse_sort(value: str | None) -> str:
    if value is None:
        return "TaskId"
    for sort in SORTS:
        if value.lower() == sort.lower():
            return sort
    raise InvalidValue("Sort", f"'{value[:32]}' is not one of {', '.join(SORTS)}")


def parse_order(value: str | None) -> str:
    if value is None:
        return "asc"
    if value.lower() in ORDERS:
        return value.lower()
    raise InvalidValue("Order", f"'{value[:32]}' is not asc or desc")


def parse_max_results(value: int | None) -> int:
    return value or DEFAULT_MAX_RESULTS


# --- TagSelector -----------------------------------------------------------------------------

_TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,=!"]+)|(==|!=|=|!|,))')


def parse_tag_selector(text: str | None) -> tuple[TagCondition, ...]:
    """`a=1,b!=2,c,!d` (or joined by ` and `) into conditions that must all hold."""
    if text is None or not text.strip():
        return ()
    tokens = _tokens(text)
    conditions: list[TagCondition] = []
    i = 0
    while i < len(tokens):
        negate = False
        if tokens[i] == ("op", "!"):
            negate = True
            i += 1
        if i >= len(tokens) or tokens[i][0] != "word":
            raise _bad_selector(text, "a tag key is expected")
        key = tokens[i][1]
        if not key or len(key) > 128:
            raise _bad_selector(text, "tag keys are 1-128 characters")
        i += 1
        if negate:
            conditions.append(TagCondition(key, "missing"))
        elif i < len(tokens) and tokens[i][0] == "op" and tokens[i][1] in ("=", "==", "!="):
            op = "ne" if tokens[i][1] == "!=" else "eq"
            i += 1
            if i >= len(tokens) or tokens[i][0] != "word":
                raise _bad_selector(text, f"a value is expected after {key}")
            conditions.append(TagCondition(key, op, tokens[i][1]))
            i += 1
        else:
            conditions.append(TagCondition(key, "has"))
        if i < len(tokens):
            if tokens[i] not in (("op", ","), ("and", "and")):
                raise _bad_selector(text, "conditions are separated by ',' or 'and'")
            i += 1
            if i >= len(tokens):
                raise _bad_selector(text, "a condition is expected after the separator")
    if len(conditions) > MAX_TAG_CONDITIONS:
        raise _bad_selector(text, f"more than {MAX_TAG_CONDITIONS} conditions")
    return tuple(conditions)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m:
            raise _bad_selector(text, f"unexpected character at position {pos + 1}")
        quoted, word, op = m.groups()
        if quoted is not None:
            tokens.append(("word", re.sub(r"\\(.)", r"\1", quoted)))
        elif word is not None:
            tokens.append(("and", "and") if word.lower() == "and" else ("word", word))
        else:
            tokens.append(("op", op))
        pos = m.end()
    return tokens


def _bad_selector(text: str, why: str) -> InvalidValue:
    return InvalidValue(
        "TagSelector", f"{why} in '{text[:128]}' (syntax: key=value,key2!=v,key3,!key4)"
    )


# --- NextToken -------------------------------------------------------------------------------


def filter_digest(query: TaskQuery) -> str:
    """A short digest of the filters, so a token is not reused with other filters."""
    parts = {
        "types": sorted(query.task_types) if query.task_types is not None else None,
        "status": query.status,
        "start": [query.start_range.start, query.start_range.end] if query.start_range else None,
        "end": [query.end_range.start, query.end_range.end] if query.end_range else None,
        "tags": [[c.key, c.op, c.value] for c in query.tags],
    }
    raw = json.dumps(parts, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()[:12]


def encode_token(cursor: Cursor) -> str:
    raw = json.dumps(
        [1, cursor.sort, cursor.order, cursor.score, cursor.task_id, cursor.digest],
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_token(token: str) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        version, sort, order, score, task_id, digest = json.loads(raw)
        if version != 1 or sort not in SORTS or order not in ORDERS:
            raise ValueError(token)
        if not isinstance(task_id, str) or not isinstance(digest, str):
            raise ValueError(token)
        return Cursor(sort, order, float(score), task_id, digest)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidValue("NextToken", "it is not a token returned by ListTasks") from None


def build_query(
    *,
    task_types: Any,
    status: str | None,
    start_range: Any,
    end_range: Any,
    tag_selector: str | None,
    sort: str | None,
    order: str | None,
    max_results: int | None,
    next_token: str | None,
    with_definition: bool,
) -> TaskQuery:
    """Validate every ListTasks parameter (already decoded from JSON where it is JSON)."""
    query = TaskQuery(
        task_types=parse_task_types(task_types),
        status=parse_status(status),
        start_range=parse_time_range(start_range, "StartTimeRange"),
        end_range=parse_time_range(end_range, "EndTimeRange"),
        tags=parse_tag_selector(tag_selector),
        sort=parse_sort(sort),
        order=parse_order(order),
        max_results=parse_max_results(max_results),
        with_definition=with_definition,
    )
    digest = filter_digest(query)
    cursor = None
    if next_token:
        cursor = decode_token(next_token)
        if (cursor.sort, cursor.order, cursor.digest) != (query.sort, query.order, digest):
            raise InvalidValue(
                "NextToken",
                "it belongs to a listing with another Sort, Order or filter; "
                "repeat the same parameters with it",
            )
    return replace(query, cursor=cursor, digest=digest)
