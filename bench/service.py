"""Our service, driven from outside: `imm-engine up` as a subprocess, the official SDK, and a
webhook receiver that timestamps each completion notification when it arrives."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from bench import BenchError, die_with_us
from bench.util import progress

REDIS_URL = "redis://127.0.0.1:6379/11"  # db 9 and 10 belong to the test suite
KEY_PREFIX = "immbench"
ACCESS_KEY_ID = "bench"
ACCESS_KEY_SECRET = "bench-secret"
TOPIC = "bench"
PROJECT = "bench"
BUCKET = "bench-bucket"
PROXY_VARS = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


def drop_proxies(env: MutableMapping[str, str]) -> None:
    """The Alibaba SDK honours proxy variables, which would send 127.0.0.1 traffic away."""
    for name in PROXY_VARS:
        env.pop(name, None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Arrival:
    at: float  # time.perf_counter() when the POST arrived
    wall: float  # time.time() at the same moment (to compare with the task's EndTime)
    content: dict[str, Any]


class Receiver:
    """An HTTP server on loopback that records the first notification of each TaskId."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._arrivals: dict[str, Arrival] = {}
        self.malformed: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                at, wall = time.perf_counter(), time.time()
                receiver._record(at, wall, body)
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True, name="webhook").start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def _record(self, at: float, wall: float, body: bytes) -> None:
        try:
            content = json.loads(json.loads(body)["content"])
            task_id = str(content["TaskId"])
        except (ValueError, KeyError, TypeError) as exc:
            with self._cond:
                self.malformed.append(f"{exc!r}: {body[:300]!r}")
            return
        with self._cond:
            # Retries: keep the first.
            self._arrivals.setdefault(task_id, Arrival(at, wall, content))
            self._cond.notify_all()

    def wait_for(self, task_id: str, timeout: float, alive: Callable[[], bool]) -> Arrival:
        deadline = time.monotonic() + timeout
        with self._cond:
            while task_id not in self._arrivals:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BenchError(f"no notification for task {task_id} within {timeout:.0f} s")
                if not alive():
                    raise BenchError(f"the service stopped while task {task_id} was running")
                self._cond.wait(min(left, 0.5))
            return self._arrivals[task_id]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@dataclass(frozen=True)
class Outcome:
    seconds: float
    page_count: int
    target_count: int
    task_id: str = ""
    #: The completion notification as it arrived.
    arrival: Arrival | None = None


@dataclass(frozen=True)
class Submitted:
    task_id: str
    started: float  # time.perf_counter() just before the SDK call
    label: str


class Service:
    """`imm-engine up` with `concurrency` worker processes (one warm LibreOffice each); or,
    with command="api", the HTTP API alone (tasks are queued and nobody runs them)."""

    def __init__(
        self,
        workdir: Path,
        log_path: Path,
        receiver: Receiver,
        *,
        concurrency: int = 1,
        command: str = "up",
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.concurrency = concurrency
        self.extra_env = dict(extra_env or {})
        #: IMM_KEY_PREFIX in `extra_env` keeps this service's keys and queues apart from
        #: another bench's on the same Redis (only its own keys are cleared).
        self.key_prefix = self.extra_env.get("IMM_KEY_PREFIX", KEY_PREFIX)
        self.command = command
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.storage = self.data_dir / "storage"
        self.bucket = self.storage / BUCKET
        self.log_path = log_path
        self.receiver = receiver
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._client: Any = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, timeout: float = 120.0) -> None:
        clear_redis_keys(self.key_prefix)
        self.bucket.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("IMM_")}
        drop_proxies(env)
        topics = {TOPIC: {"type": "webhook", "url": self.receiver.url, "allow_private": True}}
        env.update(
            {
                "IMM_REDIS_URL": REDIS_URL,
                "IMM_KEY_PREFIX": KEY_PREFIX,
                "IMM_API_PORT": str(self.port),
                "IMM_DATA_DIR": str(self.data_dir),
                "IMM_STORAGE_ROOT": str(self.storage),
                "IMM_WORKER_CONCURRENCY": str(self.concurrency),
                "IMM_DEFAULT_PROJECTS": PROJECT,
                "IMM_ACCESS_KEY_ID": ACCESS_KEY_ID,
                "IMM_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
                "IMM_NOTIFY_TOPICS": json.dumps(topics),
                **self.extra_env,
            }
        )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            # Its own session: a Ctrl-C at the terminal reaches only us, and we stop it.
            self.proc = subprocess.Popen(
                [*die_with_us("INT"), imm_engine_executable(), self.command],
                env=env,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}/healthz"
        with httpx.Client(trust_env=False, timeout=2.0) as http:
            while True:
                if not self.alive():
                    raise BenchError(
                        f"`imm-engine up` exited with status {self.proc.returncode} while "
                        f"starting\n{self.log_tail()}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(url).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise BenchError(
                        f"{url} did not answer 200 within {timeout:.0f} s\n{self.log_tail()}"
                    )
                time.sleep(0.2)
        self._client = make_client(self.port)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGINT to `imm-engine up` (it stops its children), then wait; escalate if needed.
        Returns its exit status (None if it was never started)."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                print(
                    f"bench: `imm-engine up` (pid {proc.pid}) ignored SIGINT for {timeout:.0f} s;"
                    " sending SIGTERM",
                    file=sys.stderr,
                )
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self._wait_children_gone()
        clear_redis_keys(self.key_prefix)
        return proc.returncode

    def _wait_children_gone(self, timeout: float = 20.0) -> None:
        """Its children (API, Celery, notifier, soffice) carry IMM_DATA_DIR=<ours>: wait for
        them to go, so nothing of the service runs while the raw tools are measured."""
        deadline = time.monotonic() + timeout
        while (left := processes_with_env(f"IMM_DATA_DIR={self.data_dir}")) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.2)
        if left:
            print(
                f"bench: warning: processes of the service still running after stop: {left}",
                file=sys.stderr,
            )

    def log_tail(self, chars: int = 4000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no service log)"
        return f"--- last lines of {self.log_path} ---\n{text[-chars:]}"

    # -- conversions -----------------------------------------------------------------------

    def add_source(self, src: Path, name: str | None = None) -> str:
        """Copy a document into the bucket (symlinks leaving the root are refused)."""
        shutil.copyfile(src, self.bucket / (name or src.name))
        return name or src.name

    def submit(self, key: str, target: str, label: str, client: Any = None) -> Submitted:
        """One CreateOfficeConversionTask through the SDK (`client`: another SDK client, for
        calls from several threads)."""
        from alibabacloud_imm20200930 import models as m

        request = m.CreateOfficeConversionTaskRequest(
            project_name=PROJECT,
            source_uri=f"oss://{BUCKET}/{key}",
            target_type=target,
            target_uri=f"oss://{BUCKET}/out/{{barename}}-{label}/{{index}}.{{autoext}}",
            notification=m.Notification(mns=m.MNS(topic_name=TOPIC)),
        )
        started = time.perf_counter()
        try:
            body = (client or self._client).create_office_conversion_task(request).body
        except Exception as exc:
            raise BenchError(
                f"CreateOfficeConversionTask({key} -> {target}) failed: {exc}\n{self.log_tail()}"
            ) from exc
        return Submitted(str(body.task_id), started, f"{key} -> {target}")

    def wait(self, sub: Submitted, timeout: float) -> Outcome:
        """Wait for the completion notification of `sub`; fails unless Status is Succeeded."""
        try:
            arrival = self.receiver.wait_for(sub.task_id, timeout, self.alive)
        except BenchError as exc:
            raise BenchError(f"{sub.label}: {exc}\n{self.log_tail()}") from None
        content = arrival.content
        if content.get("Status") != "Succeeded":
            raise BenchError(
                f"{sub.label}: task {sub.task_id} ended with Status={content.get('Status')!r} "
                f"Code={content.get('Code')!r} Message={content.get('Message')!r}"
            )
        return Outcome(
            arrival.at - sub.started,
            int(content.get("PageCount") or 0),
            int(content.get("TargetCount") or 0),
            sub.task_id,
            arrival,
        )

    def convert(self, key: str, target: str, label: str, timeout: float) -> Outcome:
        """Seconds from the SDK call until the completion notification reached the receiver."""
        out = self.wait(self.submit(key, target, label), timeout)
        self.clear_outputs()
        return out

    def clear_outputs(self) -> None:
        shutil.rmtree(self.bucket / "out", ignore_errors=True)  # 872 PNGs a run add up

    def client(self) -> Any:
        """A new SDK client of this service (one per thread)."""
        return make_client(self.port)

    def worker_pids(self) -> dict[str, list[int]]:
        """This service's processes by role: api, notifier, worker (Celery main), pool (its
        prefork children), soffice, other."""
        pids = processes_with_env(f"IMM_DATA_DIR={self.data_dir}")
        roles = {pid: process_role(pid) for pid in pids}
        out: dict[str, list[int]] = {}
        for pid, role in roles.items():
            if role == "worker" and roles.get(parent_pid(pid)) == "worker":
                role = "pool"
            out.setdefault(role, []).append(pid)
        return out


def process_role(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "gone"
    if "soffice" in cmd:
        return "soffice"
    if "celery" in cmd and " worker" in cmd:
        return "worker"
    if cmd.rstrip().endswith(" api"):
        return "api"
    if cmd.rstrip().endswith(" notifier"):
        return "notifier"
    return "other"


def parent_pid(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    """Resident set size of `pid` (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@contextlib.contextmanager
def running(
    workdir: Path,
    log_path: Path,
    label: str,
    notes: list[str] | None = None,
    **options: Any,
) -> Iterator[Service]:
    """A started Service (`options`: concurrency, command, extra_env) with its own webhook
    receiver; both are stopped on the way out. With `notes`, an unclean exit of the service and
    malformed deliveries are noted there."""
    receiver = Receiver().start()
    service = Service(workdir, log_path, receiver, **options)
    try:
        what = (
            "alone"
            if service.command == "api"
            else f"with {service.concurrency} worker process(es)"
        )
        progress(f"[{label}] starting imm-engine {service.command} {what} (port {service.port})")
        service.start()
        yield service
    finally:
        try:
            code = service.stop()
        finally:
            receiver.stop()
    if notes is None:
        return
    if code not in (0, None):
        notes.append(
            f"`imm-engine {service.command}` exited with status {code} after SIGINT "
            f"(log: {service.log_path})"
        )
    if receiver.malformed:
        notes.append(
            f"{len(receiver.malformed)} malformed webhook deliveries, first: "
            f"{receiver.malformed[0]}"
        )


def make_client(port: int) -> Any:
    from alibabacloud_imm20200930.client import Client
    from alibabacloud_tea_openapi import utils_models as om

    return Client(
        om.Config(
            access_key_id=ACCESS_KEY_ID,
            access_key_secret=ACCESS_KEY_SECRET,
            endpoint=f"127.0.0.1:{port}",
            protocol="http",
            read_timeout=30000,
        )
    )


def imm_engine_executable() -> str:
    for candidate in (
        Path(sys.executable).parent / "imm-engine",
        Path(__file__).resolve().parents[1] / ".venv" / "bin" / "imm-engine",
    ):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("imm-engine")
    if found:
        return found
    raise BenchError("imm-engine is not installed in this virtualenv (run `make install`)")


def clear_redis_keys(prefix: str = KEY_PREFIX) -> None:
    """Forget what an earlier (perhaps interrupted) bench left under our prefix in db 11."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        keys = list(client.scan_iter(f"{prefix}:*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    except redis.exceptions.RedisError as exc:
        raise BenchError(f"Redis at {REDIS_URL} is not usable: {exc}") from exc
    finally:
        client.close()


def processes_with_env(marker: str) -> list[int]:
    wanted = marker.encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if wanted in (proc / "environ").read_bytes().split(b"\0"):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids
