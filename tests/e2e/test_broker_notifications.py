"""One conversion's completion reaches a Redis stream, a RabbitMQ exchange and an MQTT topic.

A real `imm-engine up` (its own, configured with IMM_NOTIFY_TOPICS mapping one topic to the
three brokers), the official SDK, LibreOffice, and the real local brokers as receivers.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from alibabacloud_imm20200930 import models as m

from tests.support.broker_clients import (
    AmqpBackend,
    Backend,
    MqttBackend,
    RedisBackend,
    listening,
)
from tests.support.needs import need, redis_available
from tests.support.service import Service, notification, run_service

pytestmark = [pytest.mark.e2e, pytest.mark.soffice, pytest.mark.corpus]

REDIS_URL = "redis://127.0.0.1:6379/9"
TOPIC = "brokers-topic"


@pytest.fixture(scope="module")
def backends() -> Iterator[list[Backend]]:
    made: list[Backend] = [RedisBackend(), AmqpBackend(), MqttBackend()]
    for b, service in zip(made, ("Redis", "RabbitMQ", "Mosquitto"), strict=True):
        need(listening(b.service_port), f"{service} on 127.0.0.1:{b.service_port}")
    for b in made:
        b.subscribe()
    yield made
    for b in made:
        b.close()


@pytest.fixture(scope="module")
def broker_service(
    tmp_path_factory: pytest.TempPathFactory, backends: list[Backend], corpus: Path
) -> Iterator[Service]:
    need(redis_available(REDIS_URL), "Redis on 127.0.0.1:6379")
    need(shutil.which("soffice") is not None, "LibreOffice (run `make deps`)")
    prefix = f"immtest{uuid.uuid4().hex[:8]}"
    topics = {TOPIC: [b.destination(b.service_port) for b in backends]}
    svc = Service(
        tmp_path_factory.mktemp("imm-brokers"),
        {
            "IMM_REDIS_URL": REDIS_URL,
            "IMM_KEY_PREFIX": prefix,
            "IMM_NOTIFY_TOPICS": json.dumps(topics),
            "IMM_CONVERT_TIMEOUT": "120",
            "IMM_NOTIFY_MAX_BACKOFF": "1",
        },
    )
    svc.put("bkt", "fake.docx", (corpus / "fake.docx").read_bytes())
    yield from run_service(svc, REDIS_URL, prefix)


def test_one_completion_reaches_all_three_brokers(
    broker_service: Service, backends: list[Backend]
) -> None:
    client = broker_service.client()
    request = m.CreateOfficeConversionTaskRequest(
        project_name="test-project",
        source_uri="oss://bkt/fake.docx",
        target_type="pdf",
        target_uri="oss://bkt/out/{barename}.{autoext}",
        user_data="brokers-ud",
        notification=notification(TOPIC),
    )
    response = client.create_office_conversion_task(request).body
    task_id, event_id = response.task_id, response.event_id

    for backend in backends:
        [got] = backend.wait(1, timeout=180)
        message = got.message
        assert message["id"] == event_id, backend.name
        assert message["type"] == "imm:Task:OfficeConversion"
        content = json.loads(message["content"])
        assert content["TaskId"] == task_id and content["Status"] == "Succeeded"
        assert content["UserData"] == "brokers-ud"
    time.sleep(1.0)  # time for a duplicate, if one were sent
    assert [len(b.wait(1, timeout=0)) for b in backends] == [1, 1, 1]

    store = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    log_key = f"{broker_service.env['IMM_KEY_PREFIX']}:task:{task_id}:deliveries"
    deadline = time.monotonic() + 10
    while store.llen(log_key) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    entries = [json.loads(x) for x in store.lrange(log_key, 0, -1)]
    assert sorted(e["Destination"] for e in entries) == [f"{TOPIC}#1", f"{TOPIC}#2", f"{TOPIC}#3"]
    assert {e["State"] for e in entries} == {"Delivered"}
    assert {e["EventId"] for e in entries} == {event_id}
