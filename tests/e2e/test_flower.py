"""Flower (`imm-engine flower`) sees our worker and our tasks by their IMM TaskId."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.service import Service, free_port

LOGIN = ("ops", "flower-test-password")


@pytest.fixture()
def flower(service: Service, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMM_")}
    env.update(service.env)
    env["IMM_DATA_DIR"] = str(service.data_dir)
    env["IMM_FLOWER_BASIC_AUTH"] = ":".join(LOGIN)
    exe = Path(sys.executable).parent / "imm-engine"
    log = open(tmp_path / "flower.log", "wb")  # noqa: SIM115 - owned by the child
    proc = subprocess.Popen(
        [str(exe), "flower", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/api/workers", auth=LOGIN, timeout=5).status_code == 200:
                break
        assert proc.poll() is None, (tmp_path / "flower.log").read_text()
        assert time.monotonic() < deadline, (tmp_path / "flower.log").read_text()
        time.sleep(0.3)
    yield url
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def poll(fn: Any, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(httpx.HTTPError, KeyError, AssertionError):
            value = fn()
            if value:
                return value
        assert time.monotonic() < deadline, "Flower did not show it in time"
        time.sleep(1)


def test_flower_shows_worker_and_task_by_imm_task_id(flower: str, convert: Any) -> None:
    workers = poll(
        lambda: httpx.get(f"{flower}/api/workers?refresh=1", auth=LOGIN, timeout=30).json()
    )
    assert any(name.startswith("imm-worker-") for name in workers)

    task_id, delivery = convert("docx-tables.docx", "pdf")
    assert delivery.content["Status"] == "Succeeded"

    def info() -> dict[str, Any] | None:
        r = httpx.get(f"{flower}/api/task/info/{task_id}", auth=LOGIN, timeout=10)
        body: dict[str, Any] = r.json() if r.status_code == 200 else {}
        return body if body.get("state") == "SUCCESS" else None

    task = poll(info)
    assert task["uuid"] == task_id  # the Celery task id is the IMM TaskId
    listed = httpx.get(f"{flower}/api/tasks", auth=LOGIN, timeout=10).json()
    assert task_id in listed
