"""Redis with Sentinel on loopback, and a soak that SIGKILLs its master part way through.

`SentinelGroup` starts three redis-servers (one master, two replicas; AOF, fsync always) and
three Sentinels (`redis-server <conf> --sentinel`, quorum 2, master down after 1 s) on free
ports. `failover_soak` submits small documents through the API of a `Cluster` running on the
group's `redis+sentinel://` URL, SIGKILLs the master once part of them are accepted, keeps
submitting through the failover, and reports what became of every accepted task. Used by
tests/faults/test_sentinel_failover.py (a few dozen documents) and bench/failover.py (a few
hundred, and the throughput against plain Redis).
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from Tea.exceptions import TeaException

from imm_engine.state import connection
from tests.support.cluster import KEY_PREFIX, Cluster, PrivateRedis, wait_until
from tests.support.service import Receiver, free_port

MASTER_NAME = "imm"
#: Small documents of several families, each converting in well under a second.
DOCS = [
    ("simple.docx", "pdf"), ("fake-text.txt", "pdf"), ("DA-1p.pdf", "png"),
    ("fake.odt", "pdf"), ("vodafone.xlsx", "pdf"), ("fake-doc.rtf", "pdf"),
]  # fmt: skip
#: Short run limits, so a task whose acknowledgement died with the master is handed out
#: again after 30 s rather than 15 minutes.
LIMITS = {
    "IMM_CONVERT_TIMEOUT": "10",
    "IMM_TASK_SOFT_TIME_LIMIT": "15",
    "IMM_TASK_TIME_LIMIT": "20",
    "IMM_VISIBILITY_TIMEOUT": "30",
}


class DataNode(PrivateRedis):
    """A PrivateRedis that may start as a replica of another."""

    def __init__(self, directory: Path, replica_of: int | None = None) -> None:
        super().__init__(directory)
        self.replica_of = replica_of

    def extra_args(self) -> list[str]:
        return ["--replicaof", "127.0.0.1", str(self.replica_of)] if self.replica_of else []


class SentinelNode:
    def __init__(self, directory: Path, master_port: int) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.master_port = master_port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> SentinelNode:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        conf = self.dir / "sentinel.conf"  # Sentinel rewrites it: one file per Sentinel
        conf.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndaemonize no\ndir {self.dir}\n"
            f"logfile {self.dir / 'sentinel.log'}\n"
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.master_port} 2\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} 1000\n"
            f"sentinel failover-timeout {MASTER_NAME} 5000\n"
            f"sentinel parallel-syncs {MASTER_NAME} 1\n"
        )
        self.proc = subprocess.Popen([binary, str(conf), "--sentinel"], start_new_session=True)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=2)
        try:
            wait_until("sentinel answering", lambda: _pings(client), timeout, every=0.05)
        finally:
            client.close()
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@dataclass
class SentinelGroup:
    base: Path
    nodes: list[DataNode] = field(default_factory=list)
    sentinels: list[SentinelNode] = field(default_factory=list)

    def start(self) -> SentinelGroup:
        master = DataNode(self.base / "redis0").start()
        self.nodes = [master]
        self.nodes += [DataNode(self.base / f"redis{i}", master.port).start() for i in (1, 2)]
        self.sentinels = [SentinelNode(self.base / f"sentinel{i}", master.port) for i in range(3)]
        for s in self.sentinels:
            s.start()
        wait_until("both replicas in sync", self._replicas_online, 30)
        wait_until("the Sentinels seeing each other and the replicas", self._sentinels_ready, 30)
        return self

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{MASTER_NAME}"

    def client(self) -> redis.Redis:
        return connection.connect(self.url, decode_responses=True)

    def master(self) -> DataNode:
        address = self._ask_sentinels()
        return next(n for n in self.nodes if n.port == address[1])

    def _ask_sentinels(self) -> tuple[str, int]:
        for s in self.sentinels:
            try:
                sentinel = redis.Redis(port=s.port, socket_timeout=1)
                address: Any = sentinel.sentinel_get_master_addr_by_name(MASTER_NAME)
                if address:
                    return str(address[0]), int(address[1])
            except redis.RedisError:
                continue
        raise RuntimeError("no Sentinel answers")

    def _replicas_online(self) -> bool:
        info = redis.Redis(port=self.nodes[0].port).info("replication")
        return int(info.get("connected_slaves", 0)) == 2 and all(
            info.get(f"slave{i}", {}).get("state") == "online" for i in (0, 1)
        )

    def _sentinels_ready(self) -> bool:
        for s in self.sentinels:
            state: Any = redis.Redis(port=s.port).sentinel_master(MASTER_NAME)
            if int(state["num-other-sentinels"]) < 2 or int(state["num-slaves"]) < 2:
                return False
        return True

    def kill_master(self) -> DataNode:
        master = self.master()
        master.kill(signal.SIGKILL)
        return master

    def promoted(self, old: DataNode) -> bool:
        try:
            return self._ask_sentinels()[1] != old.port
        except RuntimeError:
            return False

    def stop(self) -> None:
        for s in self.sentinels:
            s.stop()
        for n in self.nodes:
            n.stop()


@dataclass
class FailoverReport:
    attempts: int = 0
    accepted: int = 0
    #: Create calls answered 503 ServiceUnavailable (during the failover).
    refused_503: int = 0
    #: Create calls that failed any other way (timeouts, 500s): must be 0.
    other_errors: list[str] = field(default_factory=list)
    #: Slowest answer to a Create call, seconds (a refused one included).
    slowest_create_s: float = 0.0
    #: Master SIGKILLed -> the first Create answered with a TaskId, seconds.
    failover_s: float = 0.0
    #: Master SIGKILLed -> the Sentinels naming another master, seconds.
    promoted_s: float = 0.0
    succeeded: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)
    #: Tasks notified with more than one EventId (must be 0).
    duplicated: list[str] = field(default_factory=list)
    #: Repeated deliveries of the same event (allowed: receivers deduplicate by EventId).
    repeated_same_event: int = 0
    #: Task records still Running after every task was notified (must be 0).
    left_running: int = 0
    rerun: int = 0
    seconds: float = 0.0
    throughput_per_s: float = 0.0


def failover_soak(
    cluster: Cluster,
    group: SentinelGroup | None,
    receiver: Receiver,
    corpus: Path,
    *,
    count: int,
    kill_after: float = 0.4,
    timeout: float = 600.0,
) -> FailoverReport:
    """Submit until `count` tasks are accepted, SIGKILLing the master (when `group` is
    given) once `kill_after` of them are; wait for every accepted task's notification."""
    report = FailoverReport()
    client = cluster.client()
    uris = [(cluster.put(corpus / name), target) for name, target in DOCS]
    accepted: list[str] = []
    killed_at: float | None = None
    old_master: DataNode | None = None
    started = time.monotonic()
    while len(accepted) < count:
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"only {len(accepted)} of {count} tasks accepted")
        if group is not None and killed_at is None and len(accepted) >= count * kill_after:
            old_master = group.kill_master()
            killed_at = time.monotonic()
        if (
            old_master
            and killed_at
            and not report.promoted_s
            and group
            and group.promoted(old_master)
        ):
            report.promoted_s = round(time.monotonic() - killed_at, 2)
        uri, target = uris[report.attempts % len(uris)]
        report.attempts += 1
        sent = time.monotonic()
        try:
            task_id = cluster.submit(client, uri, target, out=f"t{report.attempts}")
        except TeaException as exc:
            if exc.code == "ServiceUnavailable" and exc.statusCode == 503:
                report.refused_503 += 1
            else:
                report.other_errors.append(f"{exc.statusCode} {exc.code}: {exc.message}")
            time.sleep(0.05)
            continue
        except Exception as exc:
            report.other_errors.append(repr(exc)[:200])
            continue
        finally:
            report.slowest_create_s = max(report.slowest_create_s, time.monotonic() - sent)
        if killed_at is not None and not report.failover_s:
            report.failover_s = round(time.monotonic() - killed_at, 2)
        accepted.append(task_id)
    report.accepted = len(accepted)

    def notified() -> bool:
        return all(receiver.for_task(t) for t in accepted)

    with contextlib.suppress(TimeoutError):  # reported as lost below
        wait_until("every accepted task notified", notified, timeout, every=0.5)
    time.sleep(3)  # a duplicate would come right after
    report.seconds = round(time.monotonic() - started, 1)
    report.throughput_per_s = round(len(accepted) / report.seconds, 2)
    tally(report, accepted, receiver, group.client() if group else _plain(cluster))
    return report


def _plain(cluster: Cluster) -> redis.Redis:
    return redis.Redis.from_url(cluster.redis_url, decode_responses=True)


def tally(report: FailoverReport, accepted: list[str], receiver: Receiver, r: redis.Redis) -> None:
    failed: Counter[str] = Counter()
    for task_id in accepted:
        fields: dict[str, str] = r.hgetall(f"{KEY_PREFIX}:task:{task_id}")  # type: ignore[assignment]
        deliveries = receiver.for_task(task_id)
        event_ids = {d.headers.get("x-imm-event-id") for d in deliveries}
        if fields.get("status") not in ("Succeeded", "Failed") or not deliveries:
            report.lost.append(task_id)
            continue
        if fields["status"] == "Succeeded":
            report.succeeded += 1
        else:
            failed[fields.get("code", "?")] += 1
        if len(event_ids) > 1:
            report.duplicated.append(task_id)
        elif len(deliveries) > 1:
            report.repeated_same_event += 1
        if int(fields.get("attempts", "1")) > 1:
            report.rerun += 1
    report.failed = dict(failed)
    running = 0
    for key in r.scan_iter(f"{KEY_PREFIX}:task:*", count=1000):
        if (
            str(key).count(":") == 2
            and r.type(key) == "hash"
            and r.hget(key, "status") == "Running"
        ):
            running += 1
    report.left_running = running
