"""IMM's completion message (pure).

The envelope is CloudEvents-like, with `content` a JSON *string*:

    {"id": <EventId>, "source": "acs.imm", "type": "imm:Task:<TaskType>",
     "subject": "acs:imm:<region>:<account>:<project>/imm:Task:<TaskType>",
     "time": "<epoch ms>", "content": "{\"ProjectName\": ..., \"TaskId\": ..., ...}"}

`id` is the task's EventId, so a redelivered event carries the id of the first one and a
receiver can drop duplicates by it (docs/notifications.md).
"""

from __future__ import annotations

import json
from typing import Any

from imm_engine.models import TaskRecord, iso_time


def content(
    rec: TaskRecord, status: str, code: str, message: str, end_ts: float, result: dict[str, Any]
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ProjectName": rec.project,
        "DatasetName": "",
        "RequestId": rec.request_id,
        "StartTime": iso_time(rec.start_ts),
        "EndTime": iso_time(end_ts),
        "UserData": rec.user_data,
        "TaskType": rec.task_type,
        "TaskId": rec.task_id,
        "Status": status,
        "Code": code,
        "Message": message,
        "EventSourceId": "",
        "Tags": rec.tags,
    }
    body.update(result)
    return body


def envelope(
    rec: TaskRecord, body: dict[str, Any], *, region: str, account_id: str, now_ms: int
) -> dict[str, str]:
    event_type = f"imm:Task:{rec.task_type}"
    return {
        "id": rec.event_id,
        "source": "acs.imm",
        "type": event_type,
        "subject": f"acs:imm:{region}:{account_id}:{rec.project}/{event_type}",
        "time": str(now_ms),
        "content": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
    }


def encode(message: dict[str, str]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))
