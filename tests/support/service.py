"""A real imm-engine (API + worker + notifier processes) and a real webhook receiver."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from alibabacloud_imm20200930 import models as m
from alibabacloud_imm20200930.client import Client
from alibabacloud_tea_openapi import utils_models as om
from alibabacloud_tea_openapi.utils import Utils
from darabonba.runtime import RuntimeOptions

ACCESS_KEY_ID = "test-ak"
ACCESS_KEY_SECRET = "test-secret"
WEBHOOK_SECRET = "hook-secret"
TOPIC = "imm-topic"
#: The project every Service has once started (tasks need an existing project).
TEST_PROJECT = "test-project"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Delivery:
    received_at: float
    headers: dict[str, str]
    body: bytes

    @property
    def message(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def content(self) -> dict[str, Any]:
        return json.loads(self.message["content"])

    def signature_valid(self, secret: str) -> bool:
        ts = self.headers.get("x-imm-timestamp", "")
        mac = hmac.new(secret.encode(), ts.encode() + b"." + self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(self.headers.get("x-imm-signature", ""), f"v1={mac}")


@dataclass
class Receiver:
    """An HTTP server on loopback that records every POST, keyed by TaskId."""

    port: int = field(default_factory=free_port)
    deliveries: list[Delivery] = field(default_factory=list)
    #: Status codes to answer with, in order, before answering 200.
    failures: list[int] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver.cond:
                    status = receiver.failures.pop(0) if receiver.failures else 200
                    receiver.deliveries.append(
                        Delivery(time.time(), {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    receiver.cond.notify_all()
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def for_task(self, task_id: str) -> list[Delivery]:
        with self.cond:
            return [d for d in self.deliveries if _task_of(d) == task_id]

    def wait_for(self, task_id: str, timeout: float = 180.0) -> Delivery:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [d for d in self.deliveries if _task_of(d) == task_id]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no notification for {task_id} within {timeout} s")
                self.cond.wait(left)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _task_of(d: Delivery) -> str | None:
    try:
        return str(d.content["TaskId"])
    except (ValueError, KeyError):
        return None


@dataclass
class Service:
    """`imm-engine up` as a subprocess, configured only through IMM_* variables."""

    data_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def storage(self) -> Path:
        return self.data_dir / "storage"

    def start(self, timeout: float = 60.0) -> Service:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IMM_")}
        env.update(
            {
                "IMM_API_PORT": str(self.port),
                "IMM_DATA_DIR": str(self.data_dir),
                "IMM_STORAGE_ROOT": str(self.storage),
                "IMM_ACCESS_KEY_ID": ACCESS_KEY_ID,
                "IMM_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
                "IMM_WORKER_CONCURRENCY": "2",
                # No worker metrics endpoint unless a test asks for one (tests/e2e/test_metrics.py):
                # parallel services would all try the default port.
                "IMM_WORKER_METRICS_PORT": "0",
                **self.env,
            }
        )
        self.log_path = self.data_dir / "service.log"
        log = open(self.log_path, "wb")  # noqa: SIM115 - owned by the child
        exe = Path(sys.executable).parent / "imm-engine"
        self.proc = subprocess.Popen(
            [str(exe), "up"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"imm-engine up exited: {self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    self.ensure_project(TEST_PROJECT)
                    return self
            if time.monotonic() > deadline:
                raise RuntimeError(f"imm-engine up did not become healthy: {self.log()}")
            time.sleep(0.1)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path else ""

    def ensure_project(self, name: str) -> None:
        """CreateProject through the SDK; a project that already exists is fine."""
        from alibabacloud_tea_openapi.exceptions import ClientException

        try:
            self.client().create_project(m.CreateProjectRequest(project_name=name))
        except ClientException as exc:
            if exc.code != "ResourceAlreadyExists":
                raise

    def stop(self, timeout: float = 60.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def client(self, secret: str = ACCESS_KEY_SECRET, key_id: str = ACCESS_KEY_ID) -> Client:
        return Client(
            om.Config(
                access_key_id=key_id,
                access_key_secret=secret,
                endpoint=f"127.0.0.1:{self.port}",
                protocol="http",
                read_timeout=30000,
            )
        )

    def put(self, bucket: str, key: str, data: bytes) -> str:
        path = self.storage / bucket / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return f"oss://{bucket}/{key}"

    def object(self, uri: str) -> Path:
        assert uri.startswith("oss://")
        return self.storage / uri[len("oss://") :]


def notification(topic: str = TOPIC) -> m.Notification:
    return m.Notification(mns=m.MNS(topic_name=topic))


def signed_headers(
    port: int,
    action: str,
    query: dict[str, str],
    *,
    body: bytes = b"",
    key_id: str = ACCESS_KEY_ID,
    secret: str = ACCESS_KEY_SECRET,
    date: str | None = None,
    nonce: str | None = None,
    version: str = "2020-09-30",
) -> dict[str, str]:
    """Headers of a request signed by the official SDK's own ACS3 code (for raw requests)."""
    import uuid
    from types import SimpleNamespace

    from alibabacloud_tea_openapi.utils import Utils

    headers = {
        "host": f"127.0.0.1:{port}",
        "x-acs-version": version,
        "x-acs-action": action,
        "x-acs-date": date or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "x-acs-signature-nonce": nonce or uuid.uuid4().hex,
        "accept": "application/json",
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
    }
    if body:
        headers["content-type"] = "application/x-www-form-urlencoded"
    request = SimpleNamespace(pathname="/", method="POST", query=query, headers=headers)
    headers["Authorization"] = Utils.get_authorization(
        request, "ACS3-HMAC-SHA256", headers["x-acs-content-sha256"], key_id, secret
    )
    return headers


def extension_call(sdk: Client, action: str, **query: str) -> dict[str, Any]:
    """An imm-engine extension action through the SDK's generic, signed call."""
    params = om.Params(
        action=action,
        version="2020-09-30",
        protocol="HTTPS",
        pathname="/",
        method="POST",
        auth_type="AK",
        style="RPC",
        req_body_type="formData",
        body_type="json",
    )
    request = om.OpenApiRequest(query=Utils.query(dict(query)))
    body: dict[str, Any] = sdk.call_api(params, request, RuntimeOptions())["body"]
    return body


def raw_call(
    port: int, query: dict[str, str], headers: dict[str, str], body: bytes = b""
) -> httpx.Response:
    return httpx.post(
        f"http://127.0.0.1:{port}/", params=query, headers=headers, content=body, timeout=10
    )


def run_service(service: Service, redis_url: str, prefix: str) -> Iterator[Service]:
    """Body of a fixture: start `service`, yield it, then stop it, delete its Redis keys
    (everything under `prefix`) and fail if `imm-engine up` did not exit cleanly."""
    import redis

    service.start()
    yield service
    code = service.stop()
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{prefix}*", count=1000):
        client.delete(key)
    assert code == 0, f"imm-engine up exited with {code}: {service.log()}"


def own_service(
    directory: Path,
    receiver_url: str,
    env: dict[str, str],
    *,
    topics: dict[str, Any] | None = None,
    redis_url: str = "redis://127.0.0.1:6379/9",
) -> Iterator[Service]:
    """Body of a module's fixture: a whole service of the module's own (own key prefix on
    `redis_url`, LibreOffice), notifying `receiver_url` on TOPIC and on `topics`, with `env`
    on top; stopped and its keys deleted afterwards (run_service)."""
    import shutil
    import uuid

    from tests.support.needs import need, redis_available

    need(redis_available(redis_url), "Redis on 127.0.0.1:6379")
    need(shutil.which("soffice") is not None, "LibreOffice (run `make deps`)")
    prefix = f"immtest{uuid.uuid4().hex[:8]}"
    every = {
        TOPIC: {"type": "webhook", "url": receiver_url, "allow_private": True},
        **(topics or {}),
    }
    service = Service(
        directory,
        {
            "IMM_REDIS_URL": redis_url,
            "IMM_KEY_PREFIX": prefix,
            "IMM_NOTIFY_TOPICS": json.dumps(every),
            **env,
        },
    )
    yield from run_service(service, redis_url, prefix)
