"""Creating and reading a task through the actions, on the in-memory stores: what is left
behind when the queue or the replicas fail (nothing), and GetTask's view of the delivery log."""

from __future__ import annotations

import pytest

from imm_engine.errors import ApiError
from imm_engine.models import TaskStatus
from tests.support.api_services import MemoryApi

PROJECT = "test-project"
TOPIC = "imm-topic"


def memory_api(**kwargs: object) -> MemoryApi:
    api = MemoryApi(
        topics={TOPIC: {"type": "webhook", "url": "http://127.0.0.1:9/h", "allow_private": True}},
        **kwargs,  # type: ignore[arg-type]
    )
    api.call("CreateProject", ProjectName=PROJECT)
    return api


def create(api: MemoryApi) -> str:
    return str(
        api.call(
            "CreateOfficeConversionTask",
            ProjectName=PROJECT,
            SourceURI="oss://bkt/a.docx",
            TargetType="pdf",
            TargetURI="oss://bkt/out/{barename}.pdf",
            Notification={"MNS": {"TopicName": TOPIC}},
        )["TaskId"]
    )


def test_an_accepted_task_is_stored_and_queued() -> None:
    api = memory_api()
    task_id = create(api)
    assert api.store.task_ids() == [task_id]
    assert api.queue.submitted == [("OfficeConversion", task_id, "office")]


def test_a_queue_that_cannot_be_reached_leaves_nothing() -> None:
    api = memory_api()
    api.queue.down = True
    with pytest.raises(ApiError) as info:
        create(api)
    assert (info.value.code, info.value.status) == ("ServiceUnavailable", 503)
    assert api.store.task_ids() == []


def test_a_task_no_replica_confirms_is_503_and_leaves_nothing() -> None:
    api = memory_api(durable_replicas=1)
    with pytest.raises(ApiError) as info:
        create(api)
    assert (info.value.code, info.value.status) == ("ServiceUnavailable", 503)
    assert "replica" in info.value.message
    assert api.store.task_ids() == []
    api.store.replicas = 1
    task_id = create(api)
    assert api.store.task_ids() == [task_id]


def test_get_task_shows_where_the_completion_event_stands() -> None:
    api = memory_api()
    task_id = create(api)
    ids = {"ProjectName": PROJECT, "TaskType": "OfficeConversion", "TaskId": task_id}
    running = api.call("GetTask", **ids)
    assert running["Status"] == "Running" and "NotificationDelivery" not in running
    rec = api.store.get(task_id)
    assert rec is not None and api.store.finish(rec, TaskStatus.SUCCEEDED)
    (destination,) = api.services.submit.routes.destinations(rec.notification)
    api.store.log_delivery(task_id, {"Destination": destination.name, "State": "Failed"})
    api.store.log_delivery(task_id, {"Destination": destination.name, "State": "Delivered"})
    done = api.call("GetTask", **ids)
    assert done["Status"] == "Succeeded"
    assert done["NotificationDelivery"] == {"State": "Delivered", "Attempts": 2}
    log = api.call("ListTaskDeliveries", **ids)
    assert [d["State"] for d in log["Destinations"]] == ["Delivered"]
    assert len(log["Deliveries"]) == 2
