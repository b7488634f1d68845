"""The task record: what GetTask shows and what the worker needs to run the task."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class TaskStatus(StrEnum):
    #: Accepted and queued, or being processed (IMM shows no separate "queued" state).
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


def iso_time(ts: float) -> str:
    """IMM's time format: ISO-8601 UTC with a fraction and a `Z`."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def micros(ts: float) -> int:
    """`ts` in whole microseconds, rounded exactly as `iso_time` shows it (datetime splits off
    the fraction before rounding; `round(ts * 1e6)` differs in about one case in eight)."""
    moment = datetime.fromtimestamp(ts, UTC)
    return int(moment.replace(microsecond=0).timestamp()) * 1_000_000 + moment.microsecond


#: The format of the records this release writes (`TaskRecord.format`). History:
#: 1. the first release; no `format` field (read as 1).
#: 2. the record names its format; the job is a task type's typed job (imm_engine/tasktypes/job.py)
#:    stored under the same keys as format 1, so format 1 records read unchanged.
#: A reader migrates older formats forward (`MIGRATIONS`) and reads newer ones as far as it knows
#: them (unknown fields and job keys are ignored), so a rolling upgrade or downgrade between two
#: adjacent releases loses nothing (docs/architecture.md, "Upgrades").
RECORD_FORMAT = 2

#: format N -> N+1, on the flat fields of a record.
MIGRATIONS: dict[int, Callable[[dict[str, str]], dict[str, str]]] = {
    1: lambda fields: fields,  # the job's keys did not change
}


def migrated(fields: dict[str, str]) -> dict[str, str]:
    """A record's fields brought forward to RECORD_FORMAT (pure)."""
    version = int(fields.get("format") or 1)
    while version < RECORD_FORMAT:
        fields = {**MIGRATIONS[version](fields), "format": str(version + 1)}
        version += 1
    return fields


@dataclass
class TaskRecord:
    project: str
    task_type: str
    task_id: str
    request_id: str
    event_id: str
    start_ts: float
    status: str = TaskStatus.RUNNING
    code: str = ""
    message: str = ""
    end_ts: float = 0.0
    progress: int = 0
    tags: dict[str, Any] = field(default_factory=dict)
    user_data: str = ""
    notification: dict[str, Any] = field(default_factory=dict)
    #: The validated, normalised parameters the processor runs with.
    job: dict[str, Any] = field(default_factory=dict)
    #: The request parameters as the client sent them (GetTask's TaskRequestDefinition).
    definition: dict[str, Any] = field(default_factory=dict)
    #: Task-specific results added to the completion event (e.g. PageCount, Targets).
    result: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    service_role: str = ""
    #: The record format (RECORD_FORMAT when written by this release).
    format: int = RECORD_FORMAT

    @property
    def finished(self) -> bool:
        return self.status != TaskStatus.RUNNING

    def to_fields(self) -> dict[str, str]:
        """Flat string fields for a Redis hash (dicts as JSON)."""
        out: dict[str, str] = {}
        for name, value in asdict(self).items():
            out[name] = (
                json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else str(value)
            )
        return out

    @classmethod
    def from_fields(cls, data: dict[str, str]) -> TaskRecord:
        data = migrated(data)

        def obj(name: str) -> dict[str, Any]:
            raw = data.get(name)
            return json.loads(raw) if raw else {}

        return cls(
            project=data["project"],
            task_type=data["task_type"],
            task_id=data["task_id"],
            request_id=data.get("request_id", ""),
            event_id=data.get("event_id", ""),
            start_ts=float(data.get("start_ts", 0) or 0),
            status=data.get("status", TaskStatus.RUNNING),
            code=data.get("code", ""),
            message=data.get("message", ""),
            end_ts=float(data.get("end_ts", 0) or 0),
            progress=int(data.get("progress", 0) or 0),
            tags=obj("tags"),
            user_data=data.get("user_data", ""),
            notification=obj("notification"),
            job=obj("job"),
            definition=obj("definition"),
            result=obj("result"),
            attempts=int(data.get("attempts", 0) or 0),
            service_role=data.get("service_role", ""),
            format=int(data.get("format") or RECORD_FORMAT),
        )

    def task_info(self, *, with_definition: bool = False) -> dict[str, Any]:
        """The record as IMM's TaskInfo / GetTask body fields."""
        info: dict[str, Any] = {
            "TaskType": self.task_type,
            "TaskId": self.task_id,
            "Status": self.status,
            "Code": self.code,
            "Message": self.message,
            "StartTime": iso_time(self.start_ts),
            "EndTime": iso_time(self.end_ts) if self.end_ts else "",
            "Progress": self.progress,
            "Tags": self.tags,
            "UserData": self.user_data,
        }
        if with_definition:
            info["TaskRequestDefinition"] = json.dumps(self.definition, ensure_ascii=False)
        return info
