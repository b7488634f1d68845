"""`imm-engine api` alone as a subprocess, for tests that need the API and Redis but no worker
(projects, ListTasks): tasks it accepts stay queued and Running unless a test finishes them
through the store, as a worker would."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis
from alibabacloud_imm20200930.client import Client
from alibabacloud_tea_openapi import utils_models as om

from tests.support.e2e_service import REDIS_URL
from tests.support.service import ACCESS_KEY_ID, ACCESS_KEY_SECRET, free_port


@dataclass
class ApiServer:
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    prefix: str = field(default_factory=lambda: f"immtest{uuid.uuid4().hex[:8]}")
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> ApiServer:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IMM_")}
        env.update(
            {
                "IMM_API_PORT": str(self.port),
                "IMM_DATA_DIR": str(self.data_dir),
                "IMM_REDIS_URL": REDIS_URL,
                "IMM_KEY_PREFIX": self.prefix,
                "IMM_ACCESS_KEY_ID": ACCESS_KEY_ID,
                "IMM_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
                **self.env,
            }
        )
        self.log_path = self.data_dir / "api.log"
        log = open(self.log_path, "wb")  # noqa: SIM115 - owned by the child
        exe = Path(sys.executable).parent / "imm-engine"
        self.proc = subprocess.Popen([str(exe), "api"], env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"imm-engine api exited: {self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return self
            if time.monotonic() > deadline:
                raise RuntimeError(f"imm-engine api did not become healthy: {self.log()}")
            time.sleep(0.1)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{self.prefix}*", count=1000):
            client.delete(key)

    def client(self) -> Client:
        return Client(
            om.Config(
                access_key_id=ACCESS_KEY_ID,
                access_key_secret=ACCESS_KEY_SECRET,
                endpoint=f"127.0.0.1:{self.port}",
                protocol="http",
                read_timeout=60000,
            )
        )


@contextlib.contextmanager
def running(data_dir: Path, env: dict[str, str] | None = None) -> Iterator[ApiServer]:
    server = ApiServer(data_dir, env or {}).start()
    try:
        yield server
    finally:
        server.stop()
