"""`imm-engine api` and `imm-engine flower` as real processes: the API will not listen beyond
loopback with the public default key pair and says what it serves; Flower's UI and API ask for
the login (401 without it, 200 with it), even when FLOWER_UNAUTHENTICATED_API is set."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.needs import need, redis_available
from tests.support.service import free_port

REDIS_URL = "redis://127.0.0.1:6379/9"
EXE = Path(sys.executable).parent / "imm-engine"
LOGIN = ("ops", "flower-test-password")


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    need(redis_available(REDIS_URL), "Redis on 127.0.0.1:6379")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMM_", "FLOWER_"))}
    env.update(
        IMM_REDIS_URL=REDIS_URL,
        IMM_KEY_PREFIX=f"immtest{uuid.uuid4().hex[:8]}",
        IMM_DATA_DIR=str(tmp_path),
        **extra,
    )
    return env


def test_api_refuses_every_interface_with_the_default_pair(tmp_path: Path) -> None:
    env = env_for(tmp_path, IMM_API_HOST="0.0.0.0", IMM_API_PORT=str(free_port()))
    result = subprocess.run([str(EXE), "api"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "refusing to start" in result.stderr
    assert "IMM_ACCESS_KEY_ID" in result.stderr and "IMM_ACCESS_KEY_SECRET" in result.stderr


def test_up_refuses_every_interface_with_the_default_pair(tmp_path: Path) -> None:
    env = env_for(tmp_path, IMM_API_HOST="::", IMM_API_PORT=str(free_port()))
    result = subprocess.run([str(EXE), "up"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "IMM_ACCESS_KEY_ID" in result.stderr


def test_api_logs_its_address_and_key_ids(tmp_path: Path) -> None:
    port = free_port()
    env = env_for(
        tmp_path,
        IMM_API_HOST="0.0.0.0",
        IMM_API_PORT=str(port),
        IMM_ACCESS_KEY_ID="ops-key",
        IMM_ACCESS_KEY_SECRET="ops-secret-value",
    )
    log = tmp_path / "api.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(EXE), "api"], env=env, stdout=out, stderr=out)
        try:
            wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2), proc, log)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    text = log.read_text()
    assert f"API listening on http://0.0.0.0:{port}" in text
    assert "AccessKey ids: ops-key" in text
    assert "ops-secret-value" not in text


def wait_for(get: object, proc: subprocess.Popen[bytes], log: Path) -> httpx.Response:
    deadline = time.monotonic() + 60
    while True:
        with contextlib.suppress(httpx.HTTPError):
            response: httpx.Response = get()  # type: ignore[operator]
            return response
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.3)


def test_flower_refuses_to_start_without_a_login(tmp_path: Path) -> None:
    env = env_for(tmp_path, FLOWER_UNAUTHENTICATED_API="true")
    args = [str(EXE), "flower", "--port", str(free_port())]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "IMM_FLOWER_BASIC_AUTH" in result.stderr


@pytest.fixture()
def flower(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = env_for(
        tmp_path,
        IMM_FLOWER_BASIC_AUTH=":".join(LOGIN),
        # An operator's leftover must not open the API again.
        FLOWER_UNAUTHENTICATED_API="true",
    )
    log = tmp_path / "flower.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(EXE), "flower", "--port", str(port)], env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(f"{url}/healthcheck", timeout=2), proc, log)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert LOGIN[1] not in " ".join(proc.args)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", ["/", "/workers", "/tasks", "/api/workers", "/api/tasks"])
def test_flower_pages_and_api_need_the_login(flower: str, path: str) -> None:
    assert httpx.get(flower + path, timeout=30).status_code == 401
    assert httpx.get(flower + path, auth=("ops", "wrong-password"), timeout=30).status_code == 401
    assert httpx.get(flower + path, auth=LOGIN, timeout=30).status_code == 200


@pytest.mark.parametrize(
    "path", ["/api/worker/shutdown/imm-worker-1@host", "/api/task/async-apply/imm.office"]
)
def test_flower_actions_need_the_login(flower: str, path: str) -> None:
    assert httpx.post(flower + path, json={}, timeout=30).status_code == 401
