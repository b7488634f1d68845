"""The service as separate processes (API, workers, notifier) on a private Redis that the
tests may kill, plus the tools to kill them: whole process trees, pool children, soffice.

Everything here is real: `redis-server`, `imm-engine api|worker|notifier` subprocesses,
signals. Nothing is mocked; the only shortcut is reading the task record straight from Redis
for fields the API does not show (attempts).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import httpx
import redis
from alibabacloud_imm20200930 import models as m
from alibabacloud_imm20200930.client import Client
from alibabacloud_tea_openapi import utils_models as om

from tests.support.service import ACCESS_KEY_ID, ACCESS_KEY_SECRET, TOPIC, free_port

PROJECT = "test-project"
BUCKET = "faults-bkt"
KEY_PREFIX = "immfaults"
CELERY_READY = "ready."


def wait_until(what: str, check: Callable[[], Any], timeout: float, every: float = 0.2) -> Any:
    """Poll `check` until it returns something truthy; its value. TimeoutError names `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)


class PrivateRedis:
    """A redis-server of our own on a free port, AOF with fsync on every write (`always`),
    so a SIGKILL loses nothing that was acknowledged. Restarts reuse port and directory."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def extra_args(self) -> list[str]:
        """More redis-server arguments (a replica's `--replicaof`)."""
        return []

    def start(self, timeout: float = 30.0) -> Self:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        argv = [
            binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.dir),
            "--appendonly", "yes", "--appendfsync", "always", "--save", "",
            "--daemonize", "no", "--protected-mode", "yes",
            "--logfile", str(self.dir / "redis.log"),
            *self.extra_args(),
        ]  # fmt: skip
        self.proc = subprocess.Popen(argv, start_new_session=True)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=2)

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.log()}")
            try:
                client.get("probe")  # LOADING while the AOF is replayed
                return True
            except redis.RedisError:
                return False

        try:
            wait_until("redis-server answering", ready, timeout, every=0.05)
        finally:
            client.close()
        return self

    def kill(self, sig: int = signal.SIGKILL, timeout: float = 30.0) -> None:
        """SIGKILL: the hard case. SIGTERM: Redis's own clean shutdown."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(timeout)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.kill(signal.SIGTERM)

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.dir / "redis.log").read_text(errors="replace")[-3000:]
        return ""


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self, chars: int = 4000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            if ppid == pid:
                found.append(int(entry.name))
    return found


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    tree = [pid]
    i = 0
    while i < len(tree):
        tree.extend(children_of(tree[i]))
        i += 1
    return tree


def command_of(pid: int) -> str:
    with contextlib.suppress(OSError):
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


def name_of(pid: int) -> str:
    with contextlib.suppress(OSError):
        return (Path("/proc") / str(pid) / "comm").read_text().strip()
    return ""


def kill_all(pids: Iterable[int]) -> None:
    """Freeze every process first (none can react to the others dying), then SIGKILL them."""
    pids = list(pids)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGSTOP)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def wait_gone(pids: Iterable[int], timeout: float = 30.0) -> None:
    def gone() -> bool:
        for pid in pids:
            with contextlib.suppress(OSError):
                state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
                if state[0] != "Z":
                    return False
        return True

    wait_until("killed processes gone", gone, timeout, every=0.05)


@dataclass
class Cluster:
    """`imm-engine api`, N x `imm-engine worker --no-notifier`, `imm-engine notifier`."""

    base: Path
    redis_url: str
    hook_url: str
    extra_env: dict[str, str] = field(default_factory=dict)
    api_port: int = field(default_factory=free_port)
    procs: list[Proc] = field(default_factory=list)

    @property
    def storage(self) -> Path:
        return self.base / "storage"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IMM_")}
        for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
            env.pop(name, None)
        topics = {TOPIC: {"type": "webhook", "url": self.hook_url, "allow_private": True}}
        env.update(
            {
                "IMM_REDIS_URL": self.redis_url,
                "IMM_KEY_PREFIX": KEY_PREFIX,
                "IMM_API_PORT": str(self.api_port),
                "IMM_DATA_DIR": str(self.base / "data"),
                "IMM_STORAGE_ROOT": str(self.storage),
                "IMM_ACCESS_KEY_ID": ACCESS_KEY_ID,
                "IMM_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
                "IMM_WORKER_CONCURRENCY": "1",
                "IMM_NOTIFY_TOPICS": json.dumps(topics),
                "IMM_NOTIFY_MAX_BACKOFF": "1",
                **self.extra_env,
            }
        )
        return env

    def spawn(self, name: str, *args: str) -> Proc:
        exe = Path(sys.executable).parent / "imm-engine"
        log_path = self.base / f"{name}.log"
        with open(log_path, "ab") as log:
            popen = subprocess.Popen(
                [str(exe), *args],
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc = Proc(name, popen, log_path)
        self.procs.append(proc)
        return proc

    def start(self, workers: int = 2) -> Cluster:
        self.storage.mkdir(parents=True, exist_ok=True)
        self.start_api()
        self.spawn("notifier", "notifier")
        for i in range(workers):
            self.start_worker(f"worker{i + 1}")
        ensure_project(self.client())
        return self

    def start_api(self, timeout: float = 60.0) -> Proc:
        proc = self.spawn("api", "api")
        url = f"http://127.0.0.1:{self.api_port}/healthz"

        def healthy() -> bool:
            if not proc.alive():
                raise RuntimeError(f"imm-engine api exited: {proc.log()}")
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(url, timeout=2, trust_env=False).status_code == 200
            return False

        wait_until("the API healthy", healthy, timeout)
        return proc

    def start_worker(self, name: str, timeout: float = 120.0) -> Proc:
        """A worker with one pool process; returns once its soffice is up (warm)."""
        proc = self.spawn(name, "worker", "--no-notifier")
        try:
            wait_until(
                f"{name} ready",
                lambda: (
                    self._check_alive(proc)
                    and CELERY_READY in proc.log()
                    and self.pool_children(proc)
                ),
                timeout,
                every=0.5,
            )
        except TimeoutError as exc:
            raise RuntimeError(f"{exc}; processes {self.tree(proc)}; log:\n{proc.log()}") from exc
        return proc

    def tree(self, proc: Proc) -> list[str]:
        return [f"{pid} {command_of(pid)[:80]}" for pid in process_tree(proc.popen.pid)]

    def running(self, task_id: str) -> Proc:
        """The worker that received the task most recently (from the workers' logs)."""
        marker = f"[{task_id}] received"
        found = [p for p in self.workers() if marker in p.log(1_000_000)]
        assert len(found) == 1, f"{task_id} received by {[p.name for p in found]}"
        return found[0]

    def _check_alive(self, proc: Proc) -> bool:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited: {proc.log()}")
        return True

    def worker(self, name: str) -> Proc:
        return next(p for p in self.procs if p.name == name)

    def workers(self) -> list[Proc]:
        return [p for p in self.procs if p.name.startswith("worker") and p.alive()]

    def pool_children(self, proc: Proc) -> list[int]:
        """Celery pool processes of a worker (children of the Celery main process)."""
        pids = process_tree(proc.popen.pid)
        mains = [p for p in pids if "celery" in command_of(p) and p != proc.popen.pid]
        return [p for p in pids if p in mains and any(q in mains for q in _parents(p))]

    def soffice_of(self, proc: Proc) -> list[int]:
        """soffice.bin itself, not the sandbox's wrappers (whose command lines name it)."""
        return [p for p in process_tree(proc.popen.pid) if name_of(p) == "soffice.bin"]

    def kill_tree(self, proc: Proc) -> None:
        """The whole worker at once: `imm-engine worker`, Celery main, pool child, soffice."""
        pids = process_tree(proc.popen.pid)
        kill_all(pids)
        proc.popen.wait(30)
        wait_gone(pids)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.alive():
                with contextlib.suppress(ProcessLookupError):
                    proc.popen.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.popen.wait(60)
            except subprocess.TimeoutExpired:
                kill_all(process_tree(proc.popen.pid))
                proc.popen.wait(10)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.log(2500)}" for p in self.procs)

    # -- the API -----------------------------------------------------------------------------

    def client(self) -> Client:
        return Client(
            om.Config(
                access_key_id=ACCESS_KEY_ID,
                access_key_secret=ACCESS_KEY_SECRET,
                endpoint=f"127.0.0.1:{self.api_port}",
                protocol="http",
                read_timeout=30000,
            )
        )

    def put(self, src: Path, name: str | None = None) -> str:
        target = self.storage / BUCKET / (name or src.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        return f"oss://{BUCKET}/{target.name}"

    def object(self, uri: str) -> Path:
        assert uri.startswith("oss://")
        return self.storage / uri[len("oss://") :]

    def submit(self, client: Client, source_uri: str, target_type: str, **kwargs: Any) -> str:
        out = kwargs.pop("out", source_uri.rsplit("/", 1)[-1])
        request = m.CreateOfficeConversionTaskRequest(
            project_name=PROJECT,
            source_uri=source_uri,
            target_type=target_type,
            target_uri=f"oss://{BUCKET}/out/{out}/{{index}}.{{autoext}}",
            notification=m.Notification(mns=m.MNS(topic_name=TOPIC)),
            **kwargs,
        )
        return str(client.create_office_conversion_task(request).body.task_id)


def _parents(pid: int) -> list[int]:
    with contextlib.suppress(OSError, ValueError):
        stat = (Path("/proc") / str(pid) / "stat").read_text()
        return [int(stat[stat.rindex(")") + 2 :].split()[1])]
    return []


def ensure_project(client: Client) -> None:
    """Tasks need their project once projects exist; before that the call is unknown."""
    create = getattr(client, "create_project", None)
    if create is None:
        return
    with contextlib.suppress(Exception):
        create(m.CreateProjectRequest(project_name=PROJECT))


class Record:
    """A task record read straight from Redis (attempts is not in GetTask)."""

    def __init__(self, redis_url: str) -> None:
        self.r = redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=5)

    def get(self, task_id: str) -> dict[str, str]:
        return dict(self.r.hgetall(f"{KEY_PREFIX}:task:{task_id}"))

    def deliveries(self, task_id: str) -> list[dict[str, Any]]:
        return [
            json.loads(x) for x in self.r.lrange(f"{KEY_PREFIX}:task:{task_id}:deliveries", 0, -1)
        ]
