"""The service on RabbitMQ (AMQP) instead of Redis as the Celery broker.

Task records and the notification outbox stay in Redis; only the queue moves. The queues
carry a unique IMM_KEY_PREFIX (`<prefix>.office`), so runs sharing the RabbitMQ server do not
collide, and are deleted afterwards.
"""

from __future__ import annotations

import io
import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import amqp
import pymupdf
import pytest
import redis
from alibabacloud_imm20200930 import models as m

from tests.support.e2e_service import REDIS_URL
from tests.support.needs import need, redis_available
from tests.support.service import Receiver, Service, notification

pytestmark = [pytest.mark.e2e, pytest.mark.soffice, pytest.mark.corpus]

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"
TOPIC = "amqp-topic"


def rabbitmq_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


def channel() -> tuple[amqp.Connection, amqp.Channel]:
    conn = amqp.Connection("127.0.0.1:5672", userid="guest", password="guest", virtual_host="/")
    conn.connect()
    return conn, conn.channel()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[Service]:
    need(redis_available(REDIS_URL), "Redis on 127.0.0.1:6379")
    need(rabbitmq_available(), "RabbitMQ on 127.0.0.1:5672 (guest/guest)")
    prefix = f"immamqp{uuid.uuid4().hex[:8]}"
    service = Service(
        tmp_path_factory.mktemp("imm-amqp"),
        {
            "IMM_REDIS_URL": REDIS_URL,
            "IMM_BROKER_URL": AMQP_URL,
            "IMM_KEY_PREFIX": prefix,
            "IMM_WORKER_CONCURRENCY": "1",
            "IMM_CONVERT_TIMEOUT": "120",
            "IMM_NOTIFY_TOPICS": json.dumps(
                {TOPIC: {"type": "webhook", "url": receiver.url, "allow_private": True}}
            ),
        },
    )
    service.start()
    yield service
    code = service.stop()
    conn, ch = channel()
    try:
        for name in (f"{prefix}.office", f"{prefix}.default"):
            ch.queue_delete(name)
            ch.exchange_delete(name)
    finally:
        conn.close()
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}*", count=1000):
        client.delete(key)
    assert code == 0, service.log()


def test_conversion_over_amqp(svc: Service, receiver: Receiver, corpus: Path) -> None:
    prefix = svc.env["IMM_KEY_PREFIX"]
    source = svc.put("amqp-bkt", "in/page-breaks.docx", (corpus / "page-breaks.docx").read_bytes())
    task_ids = [
        svc.client()
        .create_office_conversion_task(
            m.CreateOfficeConversionTaskRequest(
                project_name="test-project",
                source_uri=source,
                target_type="pdf",
                target_uri=f"oss://amqp-bkt/out/{n}/{{barename}}.{{autoext}}",
                notification=notification(TOPIC),
            )
        )
        .body.task_id
        for n in range(3)
    ]
    for n, task_id in enumerate(task_ids):
        content = receiver.wait_for(task_id).content
        assert content["Status"] == "Succeeded", content
        data = svc.object(f"oss://amqp-bkt/out/{n}/page-breaks.pdf").read_bytes()
        with pymupdf.open(stream=io.BytesIO(data), filetype="pdf") as doc:
            assert doc.page_count == 6
    # The queue lives on RabbitMQ, durable, declared by the service; nothing is left in it.
    conn, ch = channel()
    try:
        name, messages, consumers = ch.queue_declare(f"{prefix}.office", passive=True)
        assert (name, messages) == (f"{prefix}.office", 0)
        assert consumers >= 1  # the worker is subscribed
    finally:
        conn.close()
    # No Celery message went through Redis.
    r = redis.Redis.from_url(REDIS_URL)
    assert not list(r.scan_iter(f"{prefix}:celery:*", count=1000))
    assert r.llen(f"{prefix}.office") == 0
