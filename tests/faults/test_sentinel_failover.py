"""Redis on Sentinel (1 master, 2 replicas, 3 Sentinels): the master is SIGKILLed while
documents are being submitted and converted, and a replica is promoted.

Every task the API accepted (answered with a TaskId) ends Succeeded with exactly one
completion event (by EventId), nothing is left Running, and while there is no master a Create
is answered 503 ServiceUnavailable (never a hang, never another error).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cluster import Cluster
from tests.support.needs import need
from tests.support.sentinel import LIMITS, SentinelGroup, failover_soak
from tests.support.service import Receiver

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.soffice, pytest.mark.corpus]

COUNT = 48


@pytest.fixture()
def group(tmp_path: Path) -> Iterator[SentinelGroup]:
    need(shutil.which("redis-server") is not None, "redis-server (make deps)")
    g = SentinelGroup(tmp_path / "redis").start()
    yield g
    g.stop()


def test_master_killed_mid_soak_loses_nothing(
    tmp_path: Path, group: SentinelGroup, receiver: Receiver, corpus: Path
) -> None:
    need(shutil.which("soffice") is not None, "LibreOffice (make deps)")
    cluster = Cluster(tmp_path / "svc", group.url, receiver.url, dict(LIMITS))
    try:
        cluster.start(workers=2)
        report = failover_soak(cluster, group, receiver, corpus, count=COUNT, kill_after=0.4)
        for proc in cluster.procs:
            assert proc.alive(), f"{proc.name} died with the master: {proc.log()}"
    except BaseException:
        print(cluster.logs())
        raise
    finally:
        cluster.stop()
    print(report)
    assert report.accepted == COUNT
    assert report.other_errors == []  # only 200s and 503s, no timeouts or 500s
    assert report.refused_503 >= 1, "no Create fell into the failover"
    assert report.failover_s > 0  # a Create was accepted by the new master
    assert report.lost == []
    assert report.duplicated == []
    assert report.succeeded == COUNT, report.failed
    assert report.left_running == 0
