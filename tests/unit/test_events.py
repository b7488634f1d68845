"""The completion message (imm_engine/notify/events.py), spec section 6.1."""

from __future__ import annotations

import json
from typing import Any

import pytest

from imm_engine.models import TaskRecord
from imm_engine.notify import events

START = 1724137387.36  # 2024-08-20T07:03:07.36Z
END = 1724137388.57  # 2024-08-20T07:03:08.57Z
NOW_MS = 1724137388612


def record(**overrides: Any) -> TaskRecord:
    fields: dict[str, Any] = {
        "project": "test-project",
        "task_type": "OfficeConversion",
        "task_id": "OfficeConversion-db7f0000-1111-2222-3333-444455556666",
        "request_id": "F9F8A1B2-0000-1111-2222-333344445555",
        "event_id": "25E-1uBJUMOshisffTNk8Nr3GIjABCD",
        "start_ts": START,
        "tags": {"User": "Jane", "Num": 3},
        "user_data": '{"file":"x"}',
    }
    fields.update(overrides)
    return TaskRecord(**fields)


def build(rec: TaskRecord, status: str = "Succeeded", code: str = "", message: str = "",
          result: dict[str, Any] | None = None) -> dict[str, str]:  # fmt: skip
    body = events.content(rec, status, code, message, END, result or {})
    return events.envelope(rec, body, region="cn-beijing", account_id="1023", now_ms=NOW_MS)


def test_envelope_fields() -> None:
    rec = record()
    env = build(rec)
    assert set(env) == {"id", "source", "type", "subject", "time", "content"}
    assert env["id"] == rec.event_id
    assert env["source"] == "acs.imm"
    assert env["type"] == "imm:Task:OfficeConversion"
    assert env["subject"] == "acs:imm:cn-beijing:1023:test-project/imm:Task:OfficeConversion"
    assert env["time"] == "1724137388612"


def test_every_envelope_value_is_a_string() -> None:
    assert all(isinstance(v, str) for v in build(record()).values())


@pytest.mark.parametrize("task_type", ["OfficeConversion", "FileCompression", "MediaConvert"])
def test_type_follows_task_type(task_type: str) -> None:
    assert build(record(task_type=task_type))["type"] == f"imm:Task:{task_type}"


CONTENT_KEYS = {
    "ProjectName", "DatasetName", "RequestId", "StartTime", "EndTime", "UserData", "TaskType",
    "TaskId", "Status", "Code", "Message", "EventSourceId", "Tags",
}  # fmt: skip


def test_content_is_a_json_string_with_the_common_keys() -> None:
    rec = record()
    env = build(rec)
    assert isinstance(env["content"], str)
    content = json.loads(env["content"])
    assert set(content) == CONTENT_KEYS
    assert content == {
        "ProjectName": "test-project",
        "DatasetName": "",
        "RequestId": rec.request_id,
        "StartTime": "2024-08-20T07:03:07.360000Z",
        "EndTime": "2024-08-20T07:03:08.570000Z",
        "UserData": '{"file":"x"}',
        "TaskType": "OfficeConversion",
        "TaskId": rec.task_id,
        "Status": "Succeeded",
        "Code": "",
        "Message": "",
        "EventSourceId": "",
        "Tags": {"User": "Jane", "Num": 3},
    }


FAILURES = [
    # (status, code, message)
    pytest.param("Succeeded", "", "", id="succeeded"),
    pytest.param("Failed", "InvalidArgument.PageRange", "no page selected", id="failed"),
    pytest.param("Failed", "InternalError", "转换失败", id="unicode-message"),
]  # fmt: skip


@pytest.mark.parametrize(("status", "code", "message"), FAILURES)
def test_status_code_message(status: str, code: str, message: str) -> None:
    content = json.loads(build(record(), status, code, message)["content"])
    assert (content["Status"], content["Code"], content["Message"]) == (status, code, message)


def test_tags_and_user_data_present_even_when_empty() -> None:
    content = json.loads(build(record(tags={}, user_data=""))["content"])
    assert content["Tags"] == {}
    assert content["UserData"] == ""


def test_result_fields_are_merged() -> None:
    content = json.loads(build(record(), result={"PageCount": 7})["content"])
    assert content["PageCount"] == 7
    assert set(content) == CONTENT_KEYS | {"PageCount"}


def test_content_is_compact_and_not_ascii_escaped() -> None:
    env = build(record(tags={"User": "张三"}))
    assert '"Tags":{"User":"张三"}' in env["content"]
    assert ", " not in env["content"]


def test_encode_round_trips() -> None:
    env = build(record(tags={"User": "张三"}))
    text = events.encode(env)
    assert json.loads(text) == env
    assert "张三" in text  # the content string is embedded, not \\u-escaped
    assert json.loads(json.loads(text)["content"])["Tags"] == {"User": "张三"}
