"""Split page rendering (issue 12) through the service and the official SDK.

A service whose split threshold is low (IMM_SPLIT_MIN_PAGES=10, ranges of 8 pages) converts a
generated 36-page PDF; the session's service (default threshold 40) converts the same PDF
unsplit. Both must write the same objects under the same names, with the same event fields;
the split one must have been split (its log says so), notify once, reach Progress 100 and
leave no temporary PDF and no split keys behind, after a success and after a failure.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pymupdf
import pytest
import redis
from alibabacloud_imm20200930 import models as m
from PIL import Image

from tests.support.e2e_service import REDIS_URL
from tests.support.service import (
    TOPIC,
    WEBHOOK_SECRET,
    Delivery,
    Receiver,
    Service,
    notification,
    run_service,
)

pytestmark = [pytest.mark.e2e, pytest.mark.soffice]

BUCKET = "split-bkt"
PAGES = 36  # below the default threshold (40): the session service does not split it
#: Pages 1..36 alternate A4 portrait and US letter landscape, so every image has the size of
#: its own page (a range that rendered the wrong page would show).
SIZES = [(595, 842) if n % 2 else (792, 612) for n in range(1, PAGES + 1)]
#: Page 30 of the failing document is far too large to render at 96 DPI (a range fails).
HUGE = (14400, 14400)


def make_pdf(sizes: list[tuple[int, int]]) -> bytes:
    doc = pymupdf.open()
    for n, (w, h) in enumerate(sizes, 1):
        page = doc.new_page(width=w, height=h)
        page.insert_text((72, 72), f"Page {n} of the split test", fontsize=18)
        page.draw_rect(pymupdf.Rect(72, 100, 72 + 5 * n, 140), color=(0, 0, 1), fill=(1, 0, 0))
    data = doc.tobytes()
    doc.close()
    return bytes(data)


def split_env(receiver: Receiver, prefix: str, **extra: str) -> dict[str, str]:
    topics = {
        TOPIC: {
            "type": "webhook",
            "url": receiver.url,
            "secret": WEBHOOK_SECRET,
            "allow_private": True,
        }
    }
    return {
        "IMM_REDIS_URL": REDIS_URL,
        "IMM_KEY_PREFIX": prefix,
        "IMM_NOTIFY_TOPICS": json.dumps(topics),
        "IMM_CONVERT_TIMEOUT": "120",
        "IMM_NOTIFY_MAX_BACKOFF": "1",
        "IMM_SPLIT_MIN_PAGES": "10",
        "IMM_SPLIT_RANGE_PAGES": "8",
        **extra,
    }


@pytest.fixture(scope="module")
def split_service(
    tmp_path_factory: pytest.TempPathFactory, receiver: Receiver
) -> Iterator[Service]:
    prefix = f"immsplit{uuid.uuid4().hex[:8]}"
    env = split_env(receiver, prefix, IMM_EARLY_PAGES="true")
    yield from run_service(Service(tmp_path_factory.mktemp("split"), env), REDIS_URL, prefix)


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[Service]:
    """One worker process: the order in which it takes messages shows."""
    prefix = f"immsplit1w{uuid.uuid4().hex[:8]}"
    env = split_env(receiver, prefix, IMM_WORKER_CONCURRENCY="1")
    yield from run_service(Service(tmp_path_factory.mktemp("split1w"), env), REDIS_URL, prefix)


def convert(
    service: Service, receiver: Receiver, source: bytes, target_type: str, **kwargs: Any
) -> tuple[str, str, Delivery]:
    """Put `source`, convert it, wait for the notification; (TaskId, output prefix, event)."""
    run_id = uuid.uuid4().hex[:8]
    uri = service.put(BUCKET, f"src/{run_id}.pdf", source)
    request = m.CreateOfficeConversionTaskRequest(
        project_name="test-project",
        source_uri=uri,
        target_type=target_type,
        target_uri=f"oss://{BUCKET}/out/{run_id}/{{index}}.{{autoext}}",
        notification=notification(),
        **kwargs,
    )
    task_id = service.client().create_office_conversion_task(request).body.task_id
    return task_id, f"out/{run_id}", receiver.wait_for(task_id, timeout=240)


def written(service: Service, prefix: str) -> dict[str, bytes]:
    """The objects under `oss://BUCKET/<prefix>/`, by name relative to it."""
    top = service.storage / BUCKET / prefix
    return {p.relative_to(top).as_posix(): p.read_bytes() for p in top.rglob("*") if p.is_file()}


def relative_targets(delivery: Delivery, prefix: str) -> list[str]:
    base = f"oss://{BUCKET}/{prefix}/"
    uris = [t["URI"] for t in delivery.content["Targets"]]
    assert all(u.startswith(base) for u in uris), uris
    return [u[len(base) :] for u in uris]


def get_task(service: Service, task_id: str) -> Any:
    request = m.GetTaskRequest(
        project_name="test-project", task_type="OfficeConversion", task_id=task_id
    )
    return service.client().get_task(request).body


def log_of(service: Service) -> str:
    assert service.log_path is not None
    return service.log_path.read_text(errors="replace")


def check_split_and_clean(service: Service, receiver: Receiver, task_id: str) -> None:
    """Split (its log says so), notified once, no temporary PDF or split keys left."""
    assert f"task {task_id}: {PAGES} pages split into 5 ranges of 8" in log_of(service)
    time.sleep(1.5)  # a second completion event, if any, would come right after the first
    assert len(receiver.for_task(task_id)) == 1, "one completion event for the whole task"
    scratch = service.storage / BUCKET / ".imm-engine" / "split" / task_id
    assert not scratch.exists() or not any(scratch.rglob("*")), list(scratch.rglob("*"))
    r = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    prefix = service.env["IMM_KEY_PREFIX"]
    assert not list(r.scan_iter(f"{prefix}:split:{task_id}*")), "the plan outlived its task"
    assert r.zcard(f"{prefix}:split:scratch") == 0, "a temporary PDF is still registered"


@pytest.mark.parametrize("target_type", ["png", "txt", "jpg"])
def test_split_writes_what_unsplit_writes(
    split_service: Service, service: Service, receiver: Receiver, target_type: str
) -> None:
    source = make_pdf(SIZES)
    split_id, split_prefix, split_event = convert(split_service, receiver, source, target_type)
    whole_id, whole_prefix, whole_event = convert(service, receiver, source, target_type)

    assert split_event.content["Status"] == "Succeeded", split_event.content
    assert whole_event.content["Status"] == "Succeeded", whole_event.content
    for field in ("PageCount", "TargetCount", "TargetType"):
        assert split_event.content[field] == whole_event.content[field], field
    assert split_event.content["PageCount"] == PAGES
    assert relative_targets(split_event, split_prefix) == relative_targets(
        whole_event, whole_prefix
    )
    split_objects = written(split_service, split_prefix)
    whole_objects = written(service, whole_prefix)
    assert sorted(split_objects) == sorted(whole_objects)
    assert sorted(split_objects) == sorted(f"{n}.{target_type}" for n in range(1, PAGES + 1))
    if target_type == "txt":
        assert split_objects == whole_objects  # the same text, page by page
        assert "Page 17 of the split test" in split_objects["17.txt"].decode()
    else:
        for n, (w, h) in enumerate(SIZES, 1):
            img = Image.open(io.BytesIO(split_objects[f"{n}.{target_type}"]))
            img.load()  # decodes every byte
            assert img.format == ("PNG" if target_type == "png" else "JPEG")
            assert img.size == pytest.approx((w * 96 / 72, h * 96 / 72), abs=1), n
        assert (
            split_objects["7.png" if target_type == "png" else "7.jpg"]
            == whole_objects[f"7.{target_type}"]
        ), "a split page is rendered exactly as an unsplit one"

    body = get_task(split_service, split_id)
    assert body.status == "Succeeded"
    assert body.progress == 100
    check_split_and_clean(split_service, receiver, split_id)
    assert f"task {whole_id}: {PAGES} pages split" not in log_of(service), "not split there"


def test_failing_range_fails_the_task_like_unsplit_and_cleans_up(
    split_service: Service, service: Service, receiver: Receiver
) -> None:
    sizes = list(SIZES)
    sizes[29] = HUGE
    source = make_pdf(sizes)
    split_id, _, split_event = convert(split_service, receiver, source, "png")
    _, _, whole_event = convert(service, receiver, source, "png")

    assert whole_event.content["Status"] == "Failed"
    assert split_event.content["Status"] == "Failed"
    assert split_event.content["Code"] == whole_event.content["Code"] == "InvalidArgument.ImageDPI"
    assert "Page 30 " in split_event.content["Message"]
    check_split_and_clean(split_service, receiver, split_id)
    assert get_task(split_service, split_id).status == "Failed"


def test_small_document_is_not_split(split_service: Service, receiver: Receiver) -> None:
    task_id, prefix, event = convert(split_service, receiver, make_pdf(SIZES[:9]), "png")

    assert event.content["Status"] == "Succeeded"
    assert sorted(written(split_service, prefix)) == sorted(f"{n}.png" for n in range(1, 10))
    assert f"task {task_id}: 9 pages split" not in log_of(split_service)
    assert f"RenderRange[{task_id}" not in log_of(split_service)


def test_a_task_submitted_during_a_split_does_not_wait_for_all_its_ranges(
    one_worker: Service, receiver: Receiver
) -> None:
    """Ranges have their own queue, and the worker alternates between its queues: a small task
    queued while a large one renders its first range runs after at most one more range, not
    after all four (one queue, first in first out, would put it behind them)."""
    big_src = one_worker.put(BUCKET, "src/big.pdf", make_pdf(SIZES))
    small_src = one_worker.put(BUCKET, "src/small.pdf", make_pdf(SIZES[:2]))
    client = one_worker.client()

    def submit(uri: str, out: str) -> str:
        request = m.CreateOfficeConversionTaskRequest(
            project_name="test-project",
            source_uri=uri,
            target_type="png",
            target_uri=f"oss://{BUCKET}/{out}/{{index}}.{{autoext}}",
            notification=notification(),
        )
        return str(client.create_office_conversion_task(request).body.task_id)

    big = submit(big_src, "fair-big")
    first_page = one_worker.storage / BUCKET / "fair-big" / "1.png"
    deadline = time.monotonic() + 60
    while not first_page.exists():  # the parent renders range 0: the others are queued
        assert time.monotonic() < deadline, log_of(one_worker)[-3000:]
        time.sleep(0.005)
    assert f"task {big}: {PAGES} pages split" in log_of(one_worker)
    small = submit(small_src, "fair-small")

    small_done = receiver.wait_for(small, timeout=120)
    big_done = receiver.wait_for(big, timeout=120)
    assert small_done.content["Status"] == big_done.content["Status"] == "Succeeded"
    log = log_of(one_worker)
    small_at = log.find(f"OfficeConversion[{small}] received")
    before = [
        k for k in range(1, 5) if -1 < log.find(f"RenderRange[{big}~{k}] received") < small_at
    ]
    assert len(before) <= 1, f"ranges {before} ran before the small task"
    assert small_done.received_at < big_done.received_at
