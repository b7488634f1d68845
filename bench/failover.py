"""Redis on Sentinel: failover under load, and the price of Sentinel and WAIT.

    python -m bench.failover --count 300        (make failover)

1. Create*Task throughput through the API alone (no workers), `--creates` calls from 4
   threads: on a plain redis-server, and on Sentinel (1 master, 2 replicas, 3 Sentinels;
   every Create waits for one replica, IMM_REDIS_WAIT_REPLICAS=1).
2. Soak on plain Redis: `--count` small documents through two workers, nothing killed.
3. The same soak on Sentinel, the master SIGKILLed once 40% of the tasks are accepted:
   failover time (master killed -> the first Create answered with a TaskId), Creates answered
   503 meanwhile, tasks lost (goal 0), tasks notified with two EventIds (goal 0), records
   left Running (goal 0), and the documents per second against the plain run.

The service's pieces are the fault tests' (tests/support/cluster.py, tests/support/sentinel.py):
real processes, no mocks. Results go to bench/results/failover.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import BenchError
from bench.service import drop_proxies

DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / "tests" / "corpus"
RESULTS = Path(__file__).resolve().parent / "results" / "failover.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.failover", description=__doc__)
    p.add_argument("--count", type=int, default=300, help="documents per soak (300)")
    p.add_argument("--creates", type=int, default=400, help="Create calls per rate run (400)")
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help=f"({DEFAULT_CORPUS})")
    p.add_argument("--json", type=Path, default=RESULTS, help=f"({RESULTS})")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    drop_proxies(os.environ)
    if not shutil.which("redis-server"):
        print("failover: redis-server is not installed (make deps)", file=sys.stderr)
        return 1
    try:
        results = run(args)
    except BenchError as exc:
        print(f"failover: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(results, indent=1))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1))
    soak = results["soak_sentinel_master_killed"]
    return 0 if not soak["lost"] and not soak["duplicated"] and not soak["left_running"] else 1


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tests.support.cluster import PrivateRedis
    from tests.support.sentinel import SentinelGroup

    base = Path(tempfile.mkdtemp(prefix="imm-failover-"))
    results: dict[str, Any] = {}
    try:
        plain = PrivateRedis(base / "plain").start()
        try:
            results["creates_per_s_plain"] = create_rate(base / "rate-plain", plain.url, args)
            progress(f"plain Redis: {results['creates_per_s_plain']} creates/s")
            flush(plain.url)
            results["soak_plain"] = soak(base / "soak-plain", plain.url, None, args)
            progress(f"plain soak: {results['soak_plain']}")
        finally:
            plain.stop()
        group = SentinelGroup(base / "sentinel").start()
        try:
            results["creates_per_s_sentinel"] = create_rate(base / "rate-s", group.url, args)
            progress(f"Sentinel: {results['creates_per_s_sentinel']} creates/s")
            group.client().flushall()  # the rate run's tasks were never meant to run
            results["soak_sentinel_master_killed"] = soak(base / "soak-s", group.url, group, args)
        finally:
            group.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return results


def flush(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushall()  # the rate run's tasks were never meant to run


def create_rate(base: Path, redis_url: str, args: argparse.Namespace) -> float:
    """Create*Task calls per second through the API alone, from 4 threads."""
    from tests.support.cluster import Cluster, ensure_project
    from tests.support.service import Receiver

    receiver = Receiver().start()
    cluster = Cluster(base, redis_url, receiver.url)
    try:
        cluster.storage.mkdir(parents=True, exist_ok=True)
        cluster.start_api()
        ensure_project(cluster.client())
        uri = cluster.put(args.corpus / "simple.docx")
        left = [args.creates]
        lock = threading.Lock()

        def work() -> None:
            client = cluster.client()
            while True:
                with lock:
                    if left[0] <= 0:
                        return
                    left[0] -= 1
                cluster.submit(client, uri, "pdf")

        started = time.monotonic()
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return round(args.creates / (time.monotonic() - started), 1)
    finally:
        cluster.stop()
        receiver.stop()


def soak(base: Path, redis_url: str, group: Any, args: argparse.Namespace) -> dict[str, Any]:
    from tests.support.cluster import Cluster
    from tests.support.sentinel import LIMITS, failover_soak
    from tests.support.service import Receiver

    receiver = Receiver().start()
    cluster = Cluster(base, redis_url, receiver.url, dict(LIMITS))
    try:
        cluster.start(workers=2)
        report = failover_soak(
            cluster, group, receiver, args.corpus, count=args.count, timeout=1800
        )
        return asdict(report)
    finally:
        cluster.stop()
        receiver.stop()


def progress(message: str) -> None:
    print(f"failover: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
