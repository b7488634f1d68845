"""Webhook receivers that hang, fail or are down, under a running service: tasks keep
finishing, other tasks' events keep arriving, every attempt is visible through the API
(`ListTaskDeliveries`, GetTask's `NotificationDelivery`), and events are replayed with the
same EventId and body (`ReplayTaskNotification`).

The extension actions are called through the official SDK's generic `call_api`, signed with
the same Config as every IMM action.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from alibabacloud_imm20200930 import models as m
from alibabacloud_imm20200930.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException

from tests.support.hanging_receiver import Hanging
from tests.support.needs import need, redis_available
from tests.support.service import (
    Receiver,
    Service,
    extension_call,
    free_port,
    notification,
    run_service,
)
from tests.support.soffice_procs import freeze, wait_soffice

pytestmark = [pytest.mark.e2e, pytest.mark.soffice]

REDIS_URL = "redis://127.0.0.1:6379/9"
BUCKET = "hooks"
MAX_ATTEMPTS = 3


class Hooks:
    def __init__(self) -> None:
        self.good = Receiver().start()
        self.flaky = Receiver().start()
        self.hang = Hanging(hold_s=120)
        self.down_port = free_port()  # nothing listens until a test starts a receiver here

    def topics(self) -> dict[str, Any]:
        def hook(url: str, **extra: Any) -> dict[str, Any]:
            return {"type": "webhook", "url": url, "allow_private": True, **extra}

        return {
            "good": hook(self.good.url),
            "flaky": hook(self.flaky.url),
            "hang": hook(self.hang.url, timeout=2),
            "down": hook(f"http://127.0.0.1:{self.down_port}/hook"),
        }

    def stop(self) -> None:
        self.good.stop()
        self.flaky.stop()
        self.hang.stop()


@pytest.fixture(scope="module")
def hooks() -> Iterator[Hooks]:
    h = Hooks()
    yield h
    h.stop()


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory, hooks: Hooks) -> Iterator[Service]:
    need(redis_available(REDIS_URL), "Redis on 127.0.0.1:6379")
    need(shutil.which("soffice") is not None, "LibreOffice (run `make deps`)")
    prefix = f"immtest{uuid.uuid4().hex[:8]}"
    service = Service(
        tmp_path_factory.mktemp("webhook-faults"),
        {
            "IMM_REDIS_URL": REDIS_URL,
            "IMM_KEY_PREFIX": prefix,
            "IMM_NOTIFY_TOPICS": json.dumps(hooks.topics()),
            "IMM_WORKER_CONCURRENCY": "1",
            "IMM_NOTIFY_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
            "IMM_NOTIFY_MAX_BACKOFF": "1",
        },
    )
    yield from run_service(service, REDIS_URL, prefix)


@pytest.fixture(scope="module")
def sdk(svc: Service) -> Client:
    return svc.client()


def ids(task_id: str) -> dict[str, str]:
    return {"ProjectName": "test-project", "TaskType": "OfficeConversion", "TaskId": task_id}


def submit(svc: Service, sdk: Client, topic: str, words: str = "hello") -> str:
    source = svc.put(BUCKET, f"in/{uuid.uuid4().hex}.txt", f"{words}\n{uuid.uuid4()}\n".encode())
    request = m.CreateOfficeConversionTaskRequest(
        project_name="test-project",
        source_uri=source,
        target_type="pdf",
        target_uri=f"oss://{BUCKET}/out/{uuid.uuid4().hex}.pdf",
        notification=notification(topic),
    )
    return str(sdk.create_office_conversion_task(request).body.task_id)


def get(sdk: Client, task_id: str) -> Any:
    request = m.GetTaskRequest(
        project_name="test-project", task_type="OfficeConversion", task_id=task_id
    )
    return sdk.get_task(request).body


def wait_final(sdk: Client, task_id: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while (body := get(sdk, task_id)).status == "Running":
        assert time.monotonic() < deadline, f"{task_id} still running"
        time.sleep(0.1)
    return body


def wait_log(sdk: Client, task_id: str, done: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        listing = extension_call(sdk, "ListTaskDeliveries", **ids(task_id))
        if done(listing):
            return listing
        assert time.monotonic() < deadline, f"delivery log of {task_id}: {listing}"
        time.sleep(0.2)


def states(listing: dict[str, Any]) -> list[str]:
    return [d["State"] for d in listing["Deliveries"]]


def end_time(body: Any) -> float:
    from datetime import datetime

    return datetime.strptime(body.end_time, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def test_hanging_receiver_blocks_neither_the_worker_nor_other_tasks(
    svc: Service, sdk: Client, hooks: Hooks
) -> None:
    hanging = [submit(svc, sdk, "hang") for _ in range(3)]
    time.sleep(0.5)
    others = [submit(svc, sdk, "good") for _ in range(3)]
    started = time.monotonic()
    for task_id in hanging + others:
        assert wait_final(sdk, task_id).status == "Succeeded"
    assert time.monotonic() - started < 60
    assert len(hooks.hang.hits) >= 1, "the hanging receiver was never called"
    for task_id in others:  # delivered right after their task ended, not behind the hang
        delivery = hooks.good.wait_for(task_id, timeout=10)
        assert delivery.received_at - end_time(get(sdk, task_id)) < 3.0

    # every attempt on the hanging receiver timed out after the destination's 2 s; bounded
    for task_id in hanging:
        listing = wait_log(sdk, task_id, lambda x: x["DeliveryState"] == "GaveUp", timeout=90)
        entries = listing["Deliveries"]
        assert states(listing) == ["Failed"] * (MAX_ATTEMPTS - 1) + ["GaveUp"]
        assert all("Timeout" in e["Error"] and e["LatencyMs"] >= 1900 for e in entries)
        assert all(e["HTTPStatus"] is None for e in entries)
        assert [e["Attempt"] for e in entries] == list(range(1, MAX_ATTEMPTS + 1))


def test_delivery_log_and_replay_through_the_api(svc: Service, sdk: Client, hooks: Hooks) -> None:
    with hooks.flaky.cond:
        hooks.flaky.failures[:] = [500, 500]
    task_id = submit(svc, sdk, "flaky")
    first = hooks.flaky.wait_for(task_id, timeout=120)
    listing = wait_log(sdk, task_id, lambda x: states(x)[-1:] == ["Delivered"])
    entries = listing["Deliveries"]
    assert [(e["State"], e["HTTPStatus"], e["Error"]) for e in entries] == [
        ("Failed", 500, "HTTP 500"),
        ("Failed", 500, "HTTP 500"),
        ("Delivered", 200, ""),
    ]
    assert {e["EventId"] for e in entries} == {listing["EventId"]} == {first.message["id"]}
    assert all(e["Destination"] == "flaky" and e["Time"].endswith("Z") for e in entries)
    assert listing["Destinations"] == [
        {
            "Destination": "flaky",
            "State": "Delivered",
            "Attempts": 3,
            "LastAttemptTime": entries[-1]["Time"],
            "LastError": "",
        }
    ]
    # GetTask carries a summary; the SDK's model ignores it and still parses the task
    raw = extension_call(sdk, "GetTask", **ids(task_id))
    assert raw["NotificationDelivery"] == {"State": "Delivered", "Attempts": 3}
    assert get(sdk, task_id).status == "Succeeded"

    # replay: the same event again, byte for byte, on a fresh attempt schedule
    bodies_before = [d.body for d in hooks.flaky.for_task(task_id)]
    answer = extension_call(sdk, "ReplayTaskNotification", **ids(task_id))
    assert (answer["EventId"], answer["Destinations"]) == (listing["EventId"], ["flaky"])
    listing = wait_log(sdk, task_id, lambda x: states(x)[-2:] == ["Replayed", "Delivered"])
    arrivals = hooks.flaky.for_task(task_id)
    assert len(arrivals) == len(bodies_before) + 1
    assert arrivals[-1].body == first.body
    assert arrivals[-1].headers["x-imm-event-id"] == first.headers["x-imm-event-id"]
    assert arrivals[-1].headers["x-imm-delivery-attempt"] == "1"

    with pytest.raises(ClientException) as info:
        extension_call(sdk, "ReplayTaskNotification", **ids(task_id), Destination="nowhere")
    assert info.value.code == "InvalidArgument" and "flaky" in info.value.message
    with pytest.raises(ClientException) as info:
        extension_call(sdk, "ListTaskDeliveries", **ids("OfficeConversion-nope"))
    assert info.value.code == "ResourceNotFound"


def test_replay_of_a_running_task_is_refused(svc: Service, sdk: Client, hooks: Hooks) -> None:
    marker = f"-env:UserInstallation={(svc.data_dir.absolute() / 'soffice').as_uri()}/"
    warm = submit(svc, sdk, "good")
    assert wait_final(sdk, warm).status == "Succeeded"
    pid = wait_soffice(marker)
    freeze(pid)  # the next task stays Running while soffice is frozen
    try:
        task_id = submit(svc, sdk, "good")
        time.sleep(1)
        assert get(sdk, task_id).status == "Running"
        with pytest.raises(ClientException) as info:
            extension_call(sdk, "ReplayTaskNotification", **ids(task_id))
        assert info.value.code == "InvalidStatus.TaskRunning"
        listing = extension_call(sdk, "ListTaskDeliveries", **ids(task_id))
        assert (listing["Status"], listing["Deliveries"]) == ("Running", [])
        assert "NotificationDelivery" not in extension_call(sdk, "GetTask", **ids(task_id))
    finally:
        os.kill(pid, signal.SIGCONT)
    assert wait_final(sdk, task_id).status == "Succeeded"
    hooks.good.wait_for(task_id, timeout=30)


def test_receiver_down_gives_up_then_the_event_is_replayed(
    svc: Service, sdk: Client, hooks: Hooks
) -> None:
    task_id = submit(svc, sdk, "down")
    assert wait_final(sdk, task_id).status == "Succeeded"
    listing = wait_log(sdk, task_id, lambda x: x["DeliveryState"] == "GaveUp")
    assert states(listing) == ["Failed"] * (MAX_ATTEMPTS - 1) + ["GaveUp"]
    assert all("ConnectError" in e["Error"] for e in listing["Deliveries"])
    assert extension_call(sdk, "GetTask", **ids(task_id))["NotificationDelivery"] == {
        "State": "GaveUp",
        "Attempts": MAX_ATTEMPTS,
    }

    receiver = Receiver(port=hooks.down_port).start()  # the receiver is back
    try:
        extension_call(sdk, "ReplayTaskNotification", **ids(task_id), Destination="down")
        delivery = receiver.wait_for(task_id, timeout=30)
        assert delivery.message["id"] == listing["EventId"]
        listing = wait_log(sdk, task_id, lambda x: x["DeliveryState"] == "Delivered")
        assert states(listing)[-2:] == ["Replayed", "Delivered"]
    finally:
        receiver.stop()
    dead = redis.Redis.from_url(REDIS_URL).lrange(f"{svc.env['IMM_KEY_PREFIX']}:outbox:dead", 0, -1)
    assert not any(json.loads(d)["task_id"] == task_id for d in dead)
