"""The container proof (`make test-containers`, after tests/containers/run.sh built the images):
docker/compose.yaml under podman-compose, as a user runs it, checked from the host.

1. compose refuses to start without the keys (`${IMM_ACCESS_KEY_ID:?...}`);
2. the stack starts with keys and a Flower login from the environment, ports on 127.0.0.1;
3. every container runs as a non-root user; bubblewrap works in the worker container;
4. a 6-page .docx put into the storage volume is converted to PNG through the official SDK
   from the host, in the project `demo` that compose creates: 6 decodable PNG pages;
5. Flower shows the task (SUCCESS) with the login, and answers 401 without it;
6. `podman-compose stop` stops every container by itself within its stop_grace_period
   (no SIGKILL: no exit status 137, each finished before its grace period ran out).

Run as root; it uses a project name of its own and removes its containers, volumes and network.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from alibabacloud_imm20200930 import models as m
from alibabacloud_imm20200930.client import Client
from alibabacloud_tea_openapi import utils_models as om
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker" / "compose.yaml"
PROJECT = os.environ.get("IMM_PROOF_PROJECT", "imm-containers-proof")
DOCUMENT = ROOT / "tests" / "corpus" / "page-breaks.docx"  # 6 pages (tests/e2e)
PAGES = 6
BUCKET = "proof"
# As docker/compose.yaml's stop_grace_period; a container must be gone well before.
GRACE_S = {"redis": 30, "api": 20, "worker": 45, "flower": 20}
# The worker may reach bwrap's user/pid/net namespaces (the LibreOffice sandbox).
BWRAP = [
    "bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/usr", "/usr",
    "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
    "--symlink", "usr/bin", "/bin", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
    "true",
]  # fmt: skip

T = TypeVar("T")


def log(message: str) -> None:
    print(f"[containers {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    def __init__(self) -> None:
        self.api_port = free_port()
        self.flower_port = free_port()
        self.key_id = f"proof-{secrets.token_hex(4)}"
        self.secret = secrets.token_urlsafe(24)
        self.login = ("ops", secrets.token_urlsafe(12))
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("IMM_", "FLOWER_")) and "proxy" not in k.lower()
        }
        self.env.update(
            IMM_ACCESS_KEY_ID=self.key_id,
            IMM_ACCESS_KEY_SECRET=self.secret,
            IMM_FLOWER_BASIC_AUTH=":".join(self.login),
            IMM_API_PUBLISH_PORT=str(self.api_port),
            IMM_FLOWER_PUBLISH_PORT=str(self.flower_port),
            IMM_REDIS_IMAGE=os.environ.get(
                "IMM_REDIS_IMAGE", "localhost/imm-redis-standin:bookworm"
            ),
            IMM_WORKER_CONCURRENCY="1",
        )

    def compose(
        self, *args: str, env: dict[str, str] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        exe = Path(sys.executable).parent / "podman-compose"
        argv = [str(exe), "-p", PROJECT, "-f", str(COMPOSE_FILE), *args]
        result = subprocess.run(
            argv, env=env or self.env, capture_output=True, text=True, timeout=600
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)}: {result.stdout[-3000:]}{result.stderr[-3000:]}"
            )
        return result

    def containers(self) -> list[dict[str, Any]]:
        out = podman("ps", "-a", "--filter", f"label=io.podman.compose.project={PROJECT}",
                     "--format", "json")  # fmt: skip
        found: list[dict[str, Any]] = json.loads(out or "[]")
        return found

    def container(self, service: str) -> str:
        for c in self.containers():
            if c["Labels"].get("com.docker.compose.service") == service:
                return str(c["Names"][0])
        raise AssertionError(f"no {service} container")

    def client(self) -> Client:
        return Client(
            om.Config(
                access_key_id=self.key_id,
                access_key_secret=self.secret,
                endpoint=f"127.0.0.1:{self.api_port}",
                protocol="http",
                read_timeout=60000,
            )
        )

    def remove(self) -> None:
        self.compose("down", "-v", "-t", "5", check=False)
        for c in self.containers():
            podman("rm", "-f", c["Id"], check=False)
        for volume in ("storage", "redis-data"):
            podman("volume", "rm", "-f", f"{PROJECT}_{volume}", check=False)


def podman(*args: str, check: bool = True, stdin: bytes | None = None) -> str:
    result = subprocess.run(["podman", *args], input=stdin, capture_output=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: {result.stderr.decode()[-2000:]}")
    return result.stdout.decode()


def wait(what: str, probe: Callable[[], T | None], timeout: float) -> T:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(httpx.HTTPError, OSError):
            value = probe()
            if value:
                return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(1)


@contextlib.contextmanager
def phase(name: str, timings: dict[str, float]) -> Iterator[None]:
    start = time.monotonic()
    log(f"{name} ...")
    yield
    timings[name] = time.monotonic() - start
    log(f"{name}: ok ({timings[name]:.1f} s)")


def refuses_without_keys(stack: Stack) -> None:
    env = {k: v for k, v in stack.env.items() if k != "IMM_ACCESS_KEY_ID"}
    result = stack.compose("config", env=env, check=False)
    said = result.stdout + result.stderr
    assert result.returncode != 0 and "IMM_ACCESS_KEY_ID" in said, said[-2000:]


def start(stack: Stack) -> None:
    stack.compose("up", "-d", "--no-build")
    url = f"http://127.0.0.1:{stack.api_port}/healthz"
    wait("the API", lambda: httpx.get(url, timeout=3).status_code == 200, 120)
    published = podman("port", stack.container("api"))
    assert f"127.0.0.1:{stack.api_port}" in published, published


def non_root(stack: Stack) -> None:
    for c in stack.containers():
        uid = podman("exec", c["Names"][0], "id", "-u").strip()
        assert uid != "0", f"{c['Names'][0]} runs as root"
    worker = stack.container("worker")
    # Under a shell, as the worker runs it: bwrap --die-with-parent dies with `podman exec`'s
    # short-lived runc parent otherwise.
    argv = ["podman", "exec", worker, "sh", "-c", " ".join(BWRAP)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"bwrap in the worker container: {result.stderr}"


def convert(stack: Stack) -> str:
    api = stack.container("api")
    podman("exec", "-i", api, "sh", "-c",
           f"mkdir -p /data/{BUCKET}/in && cat > /data/{BUCKET}/in/report.docx",
           stdin=DOCUMENT.read_bytes())  # fmt: skip
    client = stack.client()
    task_id: str = client.create_office_conversion_task(
        m.CreateOfficeConversionTaskRequest(
            project_name="demo",
            source_uri=f"oss://{BUCKET}/in/report.docx",
            target_type="png",
            target_uri=f"oss://{BUCKET}/out/{{barename}}/{{index}}.{{autoext}}",
        )
    ).body.task_id
    get = m.GetTaskRequest(project_name="demo", task_type="OfficeConversion", task_id=task_id)

    def finished() -> str | None:
        status: str = client.get_task(get).body.status
        return status if status not in ("Running", "Queued", "") else None

    status = wait("the conversion", finished, 240)
    assert status == "Succeeded", client.get_task(get).body.to_map()
    names = podman("exec", api, "find", f"/data/{BUCKET}/out", "-type", "f").split()
    assert sorted(names) == sorted(
        f"/data/{BUCKET}/out/report/{i}.png" for i in range(1, PAGES + 1)
    ), names
    for name in names:
        data = subprocess.run(
            ["podman", "exec", api, "cat", name], capture_output=True, check=True
        ).stdout
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            assert image.format == "PNG" and image.width > 100 and image.height > 100
    return task_id


def flower(stack: Stack, task_id: str) -> None:
    base = f"http://127.0.0.1:{stack.flower_port}"
    wait("Flower", lambda: httpx.get(f"{base}/healthcheck", timeout=3).status_code == 200, 60)
    for path in ("/", f"/api/task/info/{task_id}", "/api/workers"):
        assert httpx.get(base + path, timeout=10).status_code == 401, path

    def seen() -> dict[str, Any] | None:
        r = httpx.get(f"{base}/api/task/info/{task_id}", auth=stack.login, timeout=10)
        body: dict[str, Any] = r.json() if r.status_code == 200 else {}
        return body if body.get("state") == "SUCCESS" else None

    info = wait("the task in Flower", seen, 60)
    assert info["uuid"] == task_id


def stop(stack: Stack) -> list[str]:
    started = time.time()
    stack.compose("stop")
    lines = []
    for c in stack.containers():
        state = json.loads(podman("inspect", c["Id"]))[0]["State"]
        service = c["Labels"]["com.docker.compose.service"]
        took = _utc(state["FinishedAt"]) - started
        name, code, grace = c["Names"][0], state["ExitCode"], GRACE_S[service]
        line = f"{name}: exit {code} after {took:.1f} s (grace {grace} s)"
        lines.append(line)
        assert not state["Running"], line
        # 0, or 143 where the process re-raises the SIGTERM it handled (uvicorn does); 137
        # would be the SIGKILL after the grace period.
        assert code in (0, 143), f"did not stop by itself: {line}"
        assert took < GRACE_S[service], f"not within its grace period: {line}"
    return lines


def _utc(stamp: str) -> float:
    """Podman's FinishedAt, e.g. 2026-12-05T20:01:02.123456789Z or ...+00:00, as epoch seconds."""
    date, _, rest = stamp.partition(".")
    fraction = "".join(ch for ch in rest if ch.isdigit())[:6] or "0"
    offset = rest[len("".join(ch for ch in rest if ch.isdigit())) :].strip() or "Z"
    parsed = datetime.fromisoformat(
        f"{date}.{fraction.ljust(6, '0')}{'+00:00' if offset == 'Z' else offset}"
    )
    return parsed.timestamp()


def main() -> int:
    for name in list(os.environ):
        if "proxy" in name.lower():
            del os.environ[name]  # the SDK would send 127.0.0.1 through it
    stack = Stack()
    timings: dict[str, float] = {}
    stack.remove()  # leftovers of an interrupted run
    ok = False
    try:
        with phase("compose refuses to start without keys", timings):
            refuses_without_keys(stack)
        with phase("stack up (API healthy)", timings):
            start(stack)
        with phase("non-root users, bubblewrap in the worker", timings):
            non_root(stack)
        with phase(f"SDK converts a {PAGES}-page docx to PNG", timings):
            task_id = convert(stack)
        with phase("Flower: 401 without login, task SUCCESS with it", timings):
            flower(stack, task_id)
        with phase("stop within grace periods", timings):
            for line in stop(stack):
                log(f"  {line}")
        ok = True
    finally:
        if not ok:
            for c in stack.containers():
                logs = subprocess.run(
                    ["podman", "logs", "--tail", "40", c["Id"]],
                    capture_output=True, text=True, timeout=60,
                )  # fmt: skip
                log(f"--- {c['Names'][0]} ---\n{logs.stdout}{logs.stderr}")
        stack.remove()
    log("timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
