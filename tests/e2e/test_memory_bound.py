"""A document past the memory bound, through the real service: the big-table .docx with the
XML cap off (IMM_MAX_XML_RATIO=0) and IMM_MAX_PROCESS_MEMORY=1024 fails once with
InvalidFile.MemoryLimitExceeded (one run: not retried as a crash, no quarantine strike),
and the same worker converts the next document."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from alibabacloud_imm20200930 import models as m

from tests.support.hostile_docs import big_table_docx
from tests.support.needs import need
from tests.support.service import Receiver, Service, notification, own_service

pytestmark = [pytest.mark.e2e, pytest.mark.soffice]

REDIS_URL = "redis://127.0.0.1:6379/9"
BUCKET = "memory"


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory, hooks: Receiver) -> Iterator[Service]:
    need(shutil.which("bwrap") is not None, "bubblewrap (run `make deps`)")
    yield from own_service(
        tmp_path_factory.mktemp("memory-bound"),
        hooks.url,
        {
            "IMM_WORKER_CONCURRENCY": "1",
            "IMM_MAX_XML_RATIO": "0",
            "IMM_MAX_PROCESS_MEMORY": "1024",
            "IMM_CONVERT_TIMEOUT": "200",
        },
    )


def convert(svc: Service, hooks: Receiver, key: str, data: bytes) -> dict[str, object]:
    source = svc.put(BUCKET, key, data)
    request = m.CreateOfficeConversionTaskRequest(
        project_name="test-project",
        source_uri=source,
        target_type="pdf",
        target_uri=f"oss://{BUCKET}/out/{uuid.uuid4().hex}.pdf",
        notification=notification(),
    )
    task_id = svc.client().create_office_conversion_task(request).body.task_id
    content: dict[str, object] = hooks.wait_for(task_id, timeout=300).content
    return {**content, "TaskId": task_id}


def test_document_past_the_memory_bound_fails_once_and_the_worker_goes_on(
    svc: Service, hooks: Receiver
) -> None:
    started = time.monotonic()
    result = convert(svc, hooks, "big-table.docx", big_table_docx())
    assert (result["Status"], result["Code"]) == ("Failed", "InvalidFile.MemoryLimitExceeded")
    assert "IMM_MAX_PROCESS_MEMORY" in str(result["Message"])
    db = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    prefix = svc.env["IMM_KEY_PREFIX"]
    assert not list(db.scan_iter(f"{prefix}:quarantine:*"))  # not a crash: no strike
    record = db.hgetall(f"{prefix}:task:{result['TaskId']}")
    assert record.get("attempts", "1") == "1", record  # one run, not retried
    after = convert(svc, hooks, "next.txt", b"the next document converts\n")
    assert after["Status"] == "Succeeded", after
    print(f"memory bound hit and reported in {time.monotonic() - started:.1f} s")
