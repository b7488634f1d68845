"""The completion message of an IMM 2017-09-06 task, as IMM published it to MNS (pure).

    {"events": [{"eventName": "FormatConvertJob:JobFinished", "eventSource": "acs:imm",
                 "eventTime": "2018-11-14T09:51:20.342Z", "eventVersion": "1.0",
                 "imm": {"code": "NoError", "pageCount": "5", "percent": "100",
                         "taskId": "..."}}]}

The `imm` values are strings. A failed task sends the same event name with its FailDetail
code, percent and pageCount "0", and a `message` saying what went wrong.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from imm_engine.models import TaskRecord
from imm_engine.tasktypes import office_2017
from imm_engine.tasktypes.office_conversion import OfficeJob

EVENT_NAME = "FormatConvertJob:JobFinished"


def event_time(ts: float) -> str:
    """UTC with milliseconds and a `Z`."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def message(
    rec: TaskRecord, status: str, code: str, text: str, end_ts: float, result: dict[str, Any]
) -> str:
    failed = status == "Failed"
    target_type = OfficeJob.from_record(rec.job).target_type
    imm: dict[str, str] = {
        "code": office_2017.fail_code(status, code),
        "pageCount": "0" if failed else str(office_2017.page_count(target_type, result)),
        "percent": "0" if failed else "100",
        "taskId": rec.task_id,
    }
    if failed:
        imm["message"] = text
    event = {
        "eventName": EVENT_NAME,
        "eventSource": "acs:imm",
        "eventTime": event_time(end_ts),
        "eventVersion": "1.0",
        "imm": imm,
    }
    return json.dumps({"events": [event]}, ensure_ascii=False, separators=(",", ":"))
