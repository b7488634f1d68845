"""A private redis-server for `imm-engine up` when no IMM_REDIS_URL is configured.

Data lives under `<IMM_DATA_DIR>/redis` with the append-only file on (fsync every second),
so accepted tasks survive a restart. It listens on 127.0.0.1 on a free port.
"""

from __future__ import annotations

import shutil
import signal
import socket
import time
from pathlib import Path

import redis

from imm_engine.service.processes import ProcessGroup


class RedisUnavailable(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(group: ProcessGroup, data_dir: Path, timeout_s: float = 10.0) -> str:
    binary = shutil.which("redis-server")
    if not binary:
        raise RedisUnavailable(
            "redis-server is not installed: run `make deps`, or set IMM_REDIS_URL"
        )
    directory = (data_dir / "redis").absolute()
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [
        binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(directory),
        "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
        "--daemonize", "no", "--logfile", str(directory / "redis.log"),
        "--protected-mode", "yes",
    ]  # fmt: skip
    child = group.spawn("redis", argv, stop_signal=signal.SIGTERM, stop_last=True)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    deadline = time.monotonic() + timeout_s
    while True:
        if child.proc.poll() is not None:
            raise RedisUnavailable(f"redis-server exited at start; see {directory / 'redis.log'}")
        try:
            if client.ping():
                break
        except redis.RedisError:
            pass
        if time.monotonic() > deadline:
            raise RedisUnavailable(f"redis-server did not answer within {timeout_s:.0f} s")
        time.sleep(0.05)
    # AOF loading can make the server answer LOADING for a while after a restart.
    while True:
        try:
            client.get("imm:probe")
            break
        except redis.BusyLoadingError:
            time.sleep(0.1)
    client.close()
    return url
