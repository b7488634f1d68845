"""`imm-engine tasks` / `imm-engine task ID`: ListTasks and GetTask for people.

Rows are built by pure functions from TaskInfo maps (the API's field names)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from alibabacloud_imm20200930 import models as m
from alibabacloud_imm20200930.client import Client

from imm_engine.client.args import iso_utc, tag_selector
from imm_engine.errors import InvalidValue
from imm_engine.state.query import parse_time

HEADERS = ["TaskId", "Type", "Status", "Progress", "Start", "Duration", "Code", "Source"]
PAGE_SIZE = 100


@dataclass(frozen=True)
class TaskFilter:
    project: str
    task_type: str | None = None
    status: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    since: float | None = None
    limit: int = 50


def list_request(f: TaskFilter, next_token: str | None, page_size: int) -> m.ListTasksRequest:
    return m.ListTasksRequest(
        project_name=f.project,
        task_types=[f.task_type] if f.task_type else None,
        status=f.status,
        tag_selector=tag_selector(list(f.tags)) if f.tags else None,
        start_time_range=m.TimeRange(start=iso_utc(f.since)) if f.since is not None else None,
        sort="StartTime",
        order="desc",
        max_results=page_size,
        next_token=next_token,
        request_definition=True,
    )


def list_tasks(
    client: Client, f: TaskFilter, call: Callable[[Callable[[], Any]], Any]
) -> Iterator[dict[str, Any]]:
    """TaskInfo maps, newest first, paging with NextToken up to f.limit."""
    token: str | None = None
    given = 0
    while given < f.limit:
        request = list_request(f, token, min(PAGE_SIZE, f.limit - given))
        body = call(partial(client.list_tasks, request)).body
        for task in body.tasks or []:
            yield task.to_map()
            given += 1
            if given >= f.limit:
                return
        token = body.next_token
        if not token:
            return


def _ts(text: Any) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return parse_time(text, "time")
    except InvalidValue:
        return None


def duration_text(start: Any, end: Any, now: float) -> str:
    """`12.3s`, `4m05s`, `2h03m`; a running task counts up to `now`."""
    t0 = _ts(start)
    if t0 is None:
        return ""
    t1 = _ts(end) or now
    seconds = max(0.0, t1 - t0)
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


def start_text(start: Any) -> str:
    """`2024-05-01 10:00:03` (UTC) from the API's ISO time."""
    ts = _ts(start)
    return "" if ts is None else iso_utc(ts).replace("T", " ").rstrip("Z")


def first_source(definition: Any) -> str:
    """The first source URI of a task's request definition (a JSON string or object)."""
    if isinstance(definition, str):
        try:
            definition = json.loads(definition)
        except ValueError:
            return ""
    if not isinstance(definition, dict):
        return ""
    for key in ("SourceURI", "URI"):
        if isinstance(definition.get(key), str):
            return str(definition[key])
    sources = definition.get("Sources")
    if isinstance(sources, str):
        try:
            sources = json.loads(sources)
        except ValueError:
            sources = None
    if isinstance(sources, list) and sources and isinstance(sources[0], dict):
        uri = sources[0].get("URI")
        if isinstance(uri, str):
            return uri
    return ""


def shorten(text: str, width: int = 40) -> str:
    """Keep the end of a long URI (the file name matters most): `oss://…/dir/name.docx`."""
    if len(text) <= width:
        return text
    if text.startswith("oss://"):
        bucket_end = text.find("/", len("oss://"))
        head = text[: bucket_end + 1] if 0 < bucket_end < width // 2 else ""
        return head + "…" + text[-(width - len(head) - 1) :]
    return "…" + text[-(width - 1) :]


def row(task: dict[str, Any], now: float) -> list[str]:
    progress = task.get("Progress")
    return [
        str(task.get("TaskId") or ""),
        str(task.get("TaskType") or ""),
        str(task.get("Status") or ""),
        "" if progress is None else f"{progress}%",
        start_text(task.get("StartTime")),
        duration_text(task.get("StartTime"), task.get("EndTime"), now),
        str(task.get("Code") or ""),
        shorten(first_source(task.get("TaskRequestDefinition"))),
    ]


def task_type_of(task_id: str) -> str:
    """IMM TaskIds start with their type: `OfficeConversion-<uuid>`."""
    head, sep, _rest = task_id.partition("-")
    return head if sep and head.isalpha() else ""


def detail_lines(body: dict[str, Any], now: float) -> list[tuple[str, str]]:
    """GetTask as label/value pairs for `imm-engine task ID`."""
    pairs: list[tuple[str, str]] = []
    for key in ("TaskId", "TaskType", "ProjectName", "Status", "Progress", "Code", "Message"):
        value = body.get(key)
        if value not in (None, ""):
            pairs.append((key, f"{value}%" if key == "Progress" else str(value)))
    pairs.append(("StartTime", str(body.get("StartTime") or "")))
    if body.get("EndTime"):
        pairs.append(("EndTime", str(body["EndTime"])))
    pairs.append(("Duration", duration_text(body.get("StartTime"), body.get("EndTime"), now)))
    for key in ("Tags", "UserData", "EventId", "RequestId"):
        value = body.get(key)
        if value:
            pairs.append((key, value if isinstance(value, str) else json.dumps(value)))
    definition = body.get("TaskRequestDefinition")
    if definition:
        try:
            text = json.dumps(json.loads(definition), indent=2, ensure_ascii=False)
        except (TypeError, ValueError):
            text = str(definition)
        pairs.append(("Request", text))
    return pairs
