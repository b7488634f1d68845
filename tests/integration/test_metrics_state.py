"""The scrape-time gauges against the real Redis: task records written by the real store (in
several projects, types and statuses, some expired but still indexed) and real Celery
messages in the broker give exactly the expected imm_tasks, imm_tasks_waiting,
imm_notify_queue and imm_broker_queue_length values in the text exposition."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from imm_engine.broker import TaskQueue
from imm_engine.metrics.state_collector import BrokerQueues, StateCollector
from imm_engine.models import TaskRecord, TaskStatus
from imm_engine.settings import Settings
from imm_engine.state.keys import Keys
from imm_engine.state.projects import Project, ProjectStore
from imm_engine.state.store import OutboxEvent, TaskStore
from tests.support.needs import need

pytestmark = pytest.mark.redis

TYPES = ("OfficeConversion", "ImageToPDF", "MediaConvert")
TTL = 3600


@pytest.fixture()
def keys(redis_url: str) -> Iterator[Keys]:
    keys = Keys(f"immtest{uuid.uuid4().hex[:8]}")
    yield keys
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{keys.prefix}*"):
        client.delete(key)


def record(project: str, task_type: str, start_ts: float) -> TaskRecord:
    return TaskRecord(
        project=project,
        task_type=task_type,
        task_id=f"{task_type}-{uuid.uuid4()}",
        request_id="R",
        event_id=f"E-{uuid.uuid4()}",
        start_ts=start_ts,
    )


def scrape(collector: StateCollector) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """{sample name: {sorted labels: value}} of one scrape, parsed from the text format."""
    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            out.setdefault(sample.name, {})[labels] = sample.value
    return out


def test_gauges_count_the_store_exactly(redis_url: str, keys: Keys) -> None:
    client = redis.Redis.from_url(redis_url)
    store = TaskStore(client, keys, ttl_s=TTL)
    projects = ProjectStore(client, keys)
    now = time.time()
    for name in ("p1", "p2"):
        assert projects.create(Project(name=name, create_ts=now, update_ts=now))

    # (project, type) -> [statuses]; "Started" is a Running task a worker began.
    plan = {
        ("p1", "OfficeConversion"): ["Running", "Running", "Started", "Succeeded", "Failed"],
        ("p1", "ImageToPDF"): ["Succeeded", "Succeeded", "Succeeded"],
        ("p2", "OfficeConversion"): ["Succeeded", "Failed", "Failed", "Started"],
        ("p2", "MediaConvert"): ["Running"],
    }
    for (project, task_type), statuses in plan.items():
        for i, status in enumerate(statuses):
            rec = record(project, task_type, now - 60 + i)
            store.create(rec)
            if status == "Running":
                continue
            store.begin_attempt(rec.task_id)
            if status == "Started":
                continue
            events = [OutboxEvent("hook", "{}")] if status == "Failed" else []
            assert store.finish(rec, TaskStatus(status), code="X", events=events)
    # Expired records whose index entries are not trimmed yet: never counted.
    for task_type, status in (("OfficeConversion", "Failed"), ("ImageToPDF", "Succeeded")):
        old = record("p1", task_type, now - TTL - 120)
        store.create_many([old])
        # Its expiry is in the past, so Redis dropped the record at once: write it back
        # (without expiry) to finish it, then drop it again.
        client.hset(keys.task(old.task_id), mapping=old.to_fields())
        assert store.finish(old, TaskStatus(status), events=[])
        client.delete(keys.task(old.task_id))
    old_running = record("p2", "OfficeConversion", now - TTL - 120)
    store.create_many([old_running])
    client.delete(keys.task(old_running.task_id))

    collector = StateCollector(client, keys, task_types=TYPES, queues=(), ttl_s=TTL, broker=None)
    got = scrape(collector)

    tasks = {dict(k)["task_type"] + "/" + dict(k)["status"]: v for k, v in got["imm_tasks"].items()}
    assert tasks == {
        "OfficeConversion/Running": 4,  # 2 queued + 1 started in p1, 1 started in p2
        "OfficeConversion/Succeeded": 2,
        "OfficeConversion/Failed": 3,
        "ImageToPDF/Running": 0,
        "ImageToPDF/Succeeded": 3,
        "ImageToPDF/Failed": 0,
        "MediaConvert/Running": 1,
        "MediaConvert/Succeeded": 0,
        "MediaConvert/Failed": 0,
    }
    waiting = {dict(k)["task_type"]: v for k, v in got["imm_tasks_waiting"].items()}
    assert waiting == {"OfficeConversion": 2, "ImageToPDF": 0, "MediaConvert": 1}
    outbox = {dict(k)["state"]: v for k, v in got["imm_notify_queue"].items()}
    assert outbox == {"outbox": 3, "retry": 0, "dead": 0}
    assert got["imm_state_scrape_ok"] == {(): 1.0}


def test_broker_queue_lengths_count_real_celery_messages(redis_url: str, keys: Keys) -> None:
    settings = Settings(redis_url=redis_url, key_prefix=keys.prefix)
    queue = TaskQueue(settings)
    try:
        for _ in range(3):
            queue.submit("OfficeConversion", f"OfficeConversion-{uuid.uuid4()}", "office")
        queue.submit("MediaConvert", f"MediaConvert-{uuid.uuid4()}", "media")
    finally:
        queue.close()
    client = redis.Redis.from_url(redis_url)
    broker = BrokerQueues(redis_url, keys)
    assert broker.lengths(["office", "files", "media"]) == {"office": 3, "files": 0, "media": 1}

    collector = StateCollector(
        client,
        keys,
        task_types=TYPES,
        queues=("files", "media", "office"),
        ttl_s=TTL,
        broker=broker,
    )
    got = scrape(collector)
    lengths = {dict(k)["queue"]: v for k, v in got["imm_broker_queue_length"].items()}
    assert lengths == {"office": 3, "files": 0, "media": 1}


def test_an_unreachable_redis_reports_not_ok_instead_of_failing() -> None:
    client = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    keys = Keys("immtest-nowhere")
    collector = StateCollector(
        client,
        keys,
        task_types=TYPES,
        queues=("office",),
        ttl_s=TTL,
        broker=BrokerQueues("redis://127.0.0.1:1/0", keys, client),
    )
    got = scrape(collector)
    assert got["imm_state_scrape_ok"] == {(): 0.0}
    assert "imm_tasks" not in got


AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"


def test_broker_queue_lengths_on_rabbitmq(redis_url: str, keys: Keys) -> None:
    from kombu import Connection

    try:
        with Connection(AMQP_URL, connect_timeout=2) as probe:
            probe.ensure_connection(max_retries=1)
    except Exception:
        need(False, "RabbitMQ on 127.0.0.1:5672")
    settings = Settings(redis_url=redis_url, broker_url=AMQP_URL, key_prefix=keys.prefix)
    broker = BrokerQueues(AMQP_URL, keys)
    # Not declared yet (no worker, nothing published): left out, not reported as 0.
    assert broker.lengths(["office", "files"]) == {}
    queue = TaskQueue(settings)
    try:
        for _ in range(2):
            queue.submit("OfficeConversion", f"OfficeConversion-{uuid.uuid4()}", "office")
        deadline = time.monotonic() + 10
        while broker.lengths(["office"]) != {"office": 2}:
            assert time.monotonic() < deadline, broker.lengths(["office"])
            time.sleep(0.1)
        assert broker.lengths(["office", "files"]) == {"office": 2}
    finally:
        queue.close()
        with Connection(AMQP_URL) as conn:
            channel = conn.channel()
            for name in ("office", "files", "media"):
                channel.queue_delete(keys.queue(name))
                channel.exchange_delete(keys.queue(name))
