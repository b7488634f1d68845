"""`imm-engine up` on its embedded defaults: a private Redis, local storage, clean stop."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alibabacloud_imm20200930 import models as m

from tests.support.needs import need
from tests.support.service import Receiver, Service, notification

pytestmark = [pytest.mark.e2e, pytest.mark.soffice, pytest.mark.corpus]


def processes_of(data_dir: Path) -> list[int]:
    """Live processes started for this service (they all inherit IMM_DATA_DIR=<data_dir>)."""
    marker = f"IMM_DATA_DIR={data_dir}".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def test_up_runs_on_embedded_defaults_and_stops_cleanly(tmp_path: Path, corpus: Path) -> None:
    need(shutil.which("redis-server") is not None, "redis-server (run `make deps`)")
    receiver = Receiver().start()
    topics = f'{{"done": {{"type": "webhook", "url": "{receiver.url}", "allow_private": true}}}}'
    # No IMM_REDIS_URL: `up` starts a private Redis with its data under IMM_DATA_DIR.
    svc = Service(tmp_path / "var", {"IMM_NOTIFY_TOPICS": topics, "IMM_WORKER_CONCURRENCY": "1"})
    svc.data_dir.mkdir()
    svc.put("local-bkt", "in/report.docx", (corpus / "fake.docx").read_bytes())
    try:
        svc.start()
        client = svc.client()
        task_id = client.create_office_conversion_task(
            m.CreateOfficeConversionTaskRequest(
                project_name="demo",
                source_uri="oss://local-bkt/in/report.docx",
                target_type="pdf",
                target_uri="oss://local-bkt/out/{barename}.{autoext}",
                notification=notification("done"),
            )
        ).body.task_id
        assert receiver.wait_for(task_id, timeout=120).content["Status"] == "Succeeded"
        assert (svc.storage / "local-bkt" / "out" / "report.pdf").stat().st_size > 1000
        assert processes_of(svc.data_dir), "the service's processes carry IMM_DATA_DIR"
    finally:
        code = svc.stop()
    assert code == 0, svc.log()
    assert processes_of(svc.data_dir) == [], "every child (Redis, API, worker, soffice) stopped"
    assert list((svc.data_dir / "redis").glob("**/*.aof*")), "Redis wrote its append-only file"

    # The private Redis kept the task: a restarted service still knows it.
    svc.port = Service(svc.data_dir, {}).port
    try:
        svc.start()
        body = (
            svc.client()
            .get_task(
                m.GetTaskRequest(project_name="demo", task_type="OfficeConversion", task_id=task_id)
            )
            .body
        )
        assert body.status == "Succeeded"
    finally:
        assert svc.stop() == 0
        receiver.stop()
