"""An upgrade loses nothing: Redis state written by an earlier release (captured in
tests/fixtures/format_v1/state.json by its capture.py) is loaded under a fresh prefix, and
this release's `imm-engine up` takes over: the queued task runs and notifies once, the task
an old worker was running when the deploy stopped it runs again and notifies once, the event
left in the outbox is delivered once, and GetTask/ListTasks show every task."""

from __future__ import annotations

import calendar
import json
import shutil
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymupdf
import pytest
import redis
from alibabacloud_imm20200930 import models as m

from imm_engine.state.task_index import RUNNING_BASE
from tests.support.needs import need, redis_available
from tests.support.paths import CORPUS
from tests.support.service import Receiver, Service, run_service

pytestmark = [pytest.mark.e2e, pytest.mark.redis, pytest.mark.soffice]

REDIS_URL = "redis://127.0.0.1:6379/9"
STATE = Path(__file__).resolve().parents[1] / "fixtures" / "format_v1" / "state.json"
CAPTURED = json.loads(STATE.read_text(encoding="utf-8"))


def shifted(value: str, delta: float) -> str:
    return repr(float(value) + delta) if value else value


def load(client: redis.Redis, prefix: str, delta: float) -> None:
    """Write the captured keys under `prefix`, every time moved by `delta` seconds (so that
    the records are as fresh as when they were captured) and nothing else changed."""
    pipe = client.pipeline(transaction=True)
    for entry in CAPTURED["keys"]:
        key = entry["key"].replace("{prefix}", prefix)
        kind, value = (
            entry["type"],
            json.loads(json.dumps(entry["value"]).replace("{prefix}", prefix)),
        )
        if ":nonce:" in key:
            continue
        if kind == "hash":
            if ":task:" in key:
                value = {k: shifted(v, delta) if k.endswith("_ts") else v for k, v in value.items()}
            pipe.hset(key, mapping=value)
        elif kind == "zset":
            ms = delta * 1000
            pipe.zadd(
                key, {v: (s + ms if s else s) if s < RUNNING_BASE else s + ms for v, s in value}
            )
        elif kind == "list":
            pipe.rpush(key, *value)
        elif kind == "set":
            pipe.sadd(key, *value)
        elif kind == "string":
            pipe.set(key, value)
        elif kind == "stream":
            for fields in value:
                pipe.xadd(key, fields)
        if entry["pttl"] > 0:
            pipe.pexpire(key, entry["pttl"])
    pipe.execute()


def running_in_an_old_worker(client: redis.Redis, prefix: str, task_id: str) -> None:
    """Turn a queued task of the capture into one an old worker had taken and was running
    when the deploy stopped it: its message moves from the queue to kombu's unacknowledged
    set (delivered long ago, past any visibility timeout), and its record counts the run."""
    celery = f"{prefix}:celery:"
    for queue in client.scan_iter(f"{celery}{prefix}.*"):
        for raw in client.lrange(queue, 0, -1):
            message = json.loads(raw)
            if message["headers"]["id"] != task_id:
                continue
            client.lrem(queue, 1, raw)
            tag = message["properties"]["delivery_tag"]
            routing_key = message["properties"]["delivery_info"]["routing_key"]
            client.hset(f"{celery}unacked", tag, json.dumps([message, "", routing_key]))
            client.zadd(f"{celery}unacked_index", {tag: 1.0})
            client.hset(f"{prefix}:task:{task_id}", mapping={"attempts": "1", "progress": "40"})
            return
    raise AssertionError(f"{task_id} is not queued in the capture")


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[Service]:
    need(redis_available(REDIS_URL), "Redis on 127.0.0.1:6379")
    prefix = f"immtest{uuid.uuid4().hex[:8]}"
    captured_at = calendar.timegm(time.strptime(CAPTURED["captured_at"], "%Y-%m-%dT%H:%M:%SZ"))
    client = redis.Redis.from_url(REDIS_URL)
    load(client, prefix, time.time() - captured_at)
    running_in_an_old_worker(client, prefix, CAPTURED["tasks"]["queued_zip"])
    topic = {"type": "webhook", "url": receiver.url, "allow_private": True}
    svc = Service(
        tmp_path_factory.mktemp("upgrade"),
        {
            "IMM_REDIS_URL": REDIS_URL,
            "IMM_KEY_PREFIX": prefix,
            "IMM_NOTIFY_TOPICS": json.dumps({CAPTURED["topic"]: topic}),
            "IMM_CONVERT_TIMEOUT": "120",
        },
    )
    inbox = svc.storage / CAPTURED["bucket"] / "in"
    inbox.mkdir(parents=True)
    shutil.copyfile(CORPUS / "simple.docx", inbox / "simple.docx")
    yield from run_service(svc, REDIS_URL, prefix)


def task(service: Service, key: str) -> Any:
    return service.client().get_task(
        m.GetTaskRequest(project_name=CAPTURED["project"], task_id=CAPTURED["tasks"][key],
                         task_type=CAPTURED["tasks"][key].split("-")[0])
    ).body  # fmt: skip


def test_queued_and_running_tasks_run_and_notify_once(service: Service, receiver: Receiver) -> None:
    office = receiver.wait_for(CAPTURED["tasks"]["queued_office"]).content
    assert (office["Status"], office["Code"]) == ("Succeeded", "")
    bucket = service.storage / CAPTURED["bucket"]
    pages = sorted((bucket / "out" / "simple").glob("*.png"))
    assert len(pages) == office["PageCount"] >= 1
    for page in pages:
        assert pymupdf.Pixmap(str(page)).width > 100
    zipped = receiver.wait_for(CAPTURED["tasks"]["queued_zip"]).content
    assert zipped["Status"] == "Succeeded", zipped
    with zipfile.ZipFile(bucket / "out" / "simple.zip") as zf:
        [name] = zf.namelist()
        assert name.endswith("simple.docx")
        assert zf.read(name) == (CORPUS / "simple.docx").read_bytes()
    assert task(service, "queued_office").status == "Succeeded"
    assert task(service, "queued_office").user_data == "queued-office"
    # The run the deploy stopped counts; the one that finished it is the second.
    record = redis.Redis.from_url(REDIS_URL).hgetall(
        f"{service.env['IMM_KEY_PREFIX']}:task:{CAPTURED['tasks']['queued_zip']}"
    )
    assert record[b"attempts"] == b"2" and record[b"status"] == b"Succeeded"


def test_the_event_left_in_the_outbox_is_delivered_once(
    service: Service, receiver: Receiver
) -> None:
    finished = CAPTURED["tasks"]["finished"]
    event = receiver.wait_for(finished).content
    assert (event["Status"], event["TaskId"], event["UserData"]) == (
        "Succeeded", finished, "finished",
    )  # fmt: skip
    # Its stale Celery message ran too (the queue drains) and did not notify again.
    receiver.wait_for(CAPTURED["tasks"]["queued_office"])
    time.sleep(1)
    assert len(receiver.for_task(finished)) == 1
    for key in ("queued_office", "queued_zip"):
        assert len(receiver.for_task(CAPTURED["tasks"][key])) == 1


def test_listing_shows_every_captured_task(service: Service) -> None:
    body = (
        service.client()
        .list_tasks(m.ListTasksRequest(project_name=CAPTURED["project"], sort="StartTime"))
        .body
    )
    assert {t.task_id for t in body.tasks} == set(CAPTURED["tasks"].values())
    assert task(service, "finished").status == "Succeeded"
