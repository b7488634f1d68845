"""Completion messages: IMM's envelope, signed, once per destination, retried when refused."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from alibabacloud_imm20200930 import models as m

from tests.support.e2e_service import BUCKET, FLAKY_TOPIC
from tests.support.service import WEBHOOK_SECRET, Receiver, Service, notification

pytestmark = [pytest.mark.e2e, pytest.mark.soffice, pytest.mark.corpus]


def test_envelope_is_imm_format_and_signed(convert: Any, receiver: Receiver) -> None:
    task_id, delivery = convert("fake.docx", "pdf", user_data="ud-1", tags={"team": "docs"})

    message = delivery.message
    assert set(message) == {"id", "source", "type", "subject", "time", "content"}
    assert message["source"] == "acs.imm"
    assert message["type"] == "imm:Task:OfficeConversion"
    assert message["subject"].endswith(":test-project/imm:Task:OfficeConversion")
    assert message["time"].isdigit() and abs(int(message["time"]) / 1000 - time.time()) < 120
    assert isinstance(message["content"], str)  # IMM sends content as a JSON string
    content = delivery.content
    common = {"ProjectName", "RequestId", "StartTime", "EndTime", "UserData", "TaskType", "TaskId"}
    assert common | {"Status", "Code", "Message"} <= set(content)
    assert content["ProjectName"] == "test-project"
    assert content["TaskType"] == "OfficeConversion"
    assert content["UserData"] == "ud-1"
    assert content["Tags"] == {"team": "docs"}
    assert delivery.headers["x-imm-event-id"] == message["id"]
    assert delivery.headers["x-imm-task-id"] == task_id
    assert delivery.signature_valid(WEBHOOK_SECRET)
    assert not delivery.signature_valid("another-secret")


def test_each_task_is_notified_exactly_once(convert: Any, receiver: Receiver) -> None:
    ids = [convert("fake.docx", "png")[0] for _ in range(3)]
    time.sleep(1.0)  # time for a duplicate, if one were sent
    for task_id in ids:
        assert len(receiver.for_task(task_id)) == 1


def test_failed_task_is_notified_too(convert: Any) -> None:
    _, delivery = convert(f"oss://{BUCKET}/missing.docx", "pdf")
    assert delivery.content["Status"] == "Failed"
    assert delivery.content["Code"] == "ResourceNotFound"


def test_refused_delivery_is_retried_with_the_same_event_id(
    convert: Any, flaky: Receiver, client: Any, store: Any, service: Service
) -> None:
    with flaky.cond:
        flaky.failures[:] = [500, 503]
    task_id, _ = convert("fake.docx", "pdf", via=flaky, notification=notification(FLAKY_TOPIC))

    deadline = time.monotonic() + 30
    while len(flaky.for_task(task_id)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    attempts = flaky.for_task(task_id)
    assert [d.headers["x-imm-delivery-attempt"] for d in attempts] == ["1", "2", "3"]
    assert len({d.message["id"] for d in attempts}) == 1
    assert len({d.body for d in attempts}) == 1  # byte-identical redeliveries

    log_key = f"{service.env['IMM_KEY_PREFIX']}:task:{task_id}:deliveries"
    deadline = time.monotonic() + 5
    while store.llen(log_key) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    states = [json.loads(x)["State"] for x in store.lrange(log_key, 0, -1)]
    assert states == ["Failed", "Failed", "Delivered"]
    status = client.get_task(
        m.GetTaskRequest(project_name="test-project", task_type="OfficeConversion", task_id=task_id)
    ).body.status
    assert status == "Succeeded"


def test_progress_is_reported_while_running(
    service: Service, client: Any, receiver: Receiver, corpus: Any
) -> None:
    request = m.CreateOfficeConversionTaskRequest(
        project_name="test-project",
        source_uri=f"oss://{BUCKET}/DA-619p.pdf",
        target_type="png",
        target_uri=f"oss://{BUCKET}/progress/{{index}}.{{autoext}}",
        notification=notification(),
    )
    task_id = client.create_office_conversion_task(request).body.task_id
    seen: list[tuple[str, int]] = []
    get = m.GetTaskRequest(
        project_name="test-project", task_type="OfficeConversion", task_id=task_id
    )
    while not seen or seen[-1][0] == "Running":
        body = client.get_task(get).body
        seen.append((body.status, body.progress))
        time.sleep(0.2)
    running = [p for s, p in seen if s == "Running"]
    assert any(0 < p < 100 for p in running), seen
    assert running == sorted(running)
    assert seen[-1] == ("Succeeded", 100)
    assert receiver.wait_for(task_id).content["TargetCount"] == 619
