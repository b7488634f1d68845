"""Fault tests: a private Redis and the service as separate processes, per test."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.cluster import Cluster, PrivateRedis
from tests.support.needs import need
from tests.support.service import Receiver


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture()
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    need(shutil.which("redis-server") is not None, "redis-server (make deps)")
    r = PrivateRedis(tmp_path / "redis").start()
    yield r
    r.stop()


@pytest.fixture()
def make_cluster(
    tmp_path: Path, private_redis: PrivateRedis, receiver: Receiver
) -> Iterator[Callable[..., Cluster]]:
    need(shutil.which("soffice") is not None, "LibreOffice (make deps)")
    started: list[Cluster] = []

    def make(env: dict[str, str] | None = None, workers: int = 2) -> Cluster:
        cluster = Cluster(tmp_path / "svc", private_redis.url, receiver.url, dict(env or {}))
        started.append(cluster)
        return cluster.start(workers)

    yield make
    for cluster in started:
        cluster.stop()
