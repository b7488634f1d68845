"""`make soak`: a few hundred small documents through two workers, one of which is killed
with SIGKILL (its whole process tree: worker, Celery pool process, soffice) part way through
and replaced. Prints what happened to every accepted task; `lost` and `duplicated` must be 0.

The service runs as separate processes (`imm-engine api`, two `imm-engine worker` with one
pool process each, `imm-engine notifier`) on a private redis-server (AOF, fsync always), with
the run limits shortened so that the killed worker's task is handed out again after a
60 s visibility timeout instead of 15 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import BenchError
from bench.service import drop_proxies

DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / "tests" / "corpus"
RESULTS = Path(__file__).resolve().parent / "results" / "soak.json"
#: (document, target): small documents of every family; password.pdf fails on purpose.
MIX = [
    ("simple.docx", "png"), ("fake.docx", "pdf"), ("docx-tables.docx", "txt"),
    ("page-breaks.docx", "png"), ("handbook-1p.docx", "jpg"), ("simple.doc", "pdf"),
    ("vodafone.xlsx", "png"), ("stanley-cups.xlsx", "pdf"), ("emoji.xlsx", "txt"),
    ("sample-presentation.pptx", "png"), ("fake-power-point.pptx", "pdf"),
    ("DA-1p.pdf", "png"), ("fake-memo.pdf", "txt"), ("multi-column-2p.pdf", "jpg"),
    ("fake-text.txt", "pdf"), ("stanley-cups.csv", "png"), ("fake.odt", "pdf"),
    ("fake-doc.rtf", "png"), ("password.pdf", "png"),
]  # fmt: skip
LIMITS = {
    "IMM_CONVERT_TIMEOUT": "30",
    "IMM_TASK_SOFT_TIME_LIMIT": "40",
    "IMM_TASK_TIME_LIMIT": "50",
    "IMM_VISIBILITY_TIMEOUT": "60",
}


@dataclass
class Report:
    submitted: int = 0
    refused: int = 0
    succeeded: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    #: Ran more than once (a run interrupted by the kill, then run again).
    rerun: int = 0
    #: Completion events repeated with the same EventId (allowed: receivers deduplicate).
    repeated_same_event: int = 0
    #: Finished twice, or notified with two different EventIds (must be 0).
    duplicated: int = 0
    #: Accepted but never finished, or finished but never notified (must be 0).
    lost: int = 0
    lost_ids: list[str] = field(default_factory=list)
    killed_at_done: int = 0
    seconds: float = 0.0
    throughput_per_s: float = 0.0
    load_average: str = ""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    p.add_argument("--count", type=int, default=300, help="tasks to submit (300)")
    p.add_argument(
        "--kill-after", type=float, default=0.4, help="kill a worker when this share is done"
    )
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help=f"({DEFAULT_CORPUS})")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds for the whole run")
    p.add_argument("--json", type=Path, default=RESULTS, help=f"({RESULTS})")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    drop_proxies(os.environ)
    try:
        report = soak(args)
    except BenchError as exc:
        print(f"soak: {exc}", file=sys.stderr)
        return 1
    print(table(report))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(asdict(report), indent=1))
    return 0 if report.lost == 0 and report.duplicated == 0 else 1


def soak(args: argparse.Namespace) -> Report:
    # The service's pieces: the same ones the fault tests use (real processes, no mocks).
    from tests.support.cluster import Cluster, PrivateRedis, Record, wait_until
    from tests.support.service import Receiver

    if not args.corpus.is_dir():
        raise BenchError(f"no corpus at {args.corpus} (--corpus)")
    if not shutil.which("redis-server"):
        raise BenchError("redis-server is not installed (make deps)")
    base = Path(tempfile.mkdtemp(prefix="imm-soak-"))
    redis_server = PrivateRedis(base / "redis").start()
    receiver = Receiver().start()
    cluster = Cluster(base / "svc", redis_server.url, receiver.url, dict(LIMITS))
    report = Report()
    try:
        progress(f"starting the service in {base}")
        cluster.start(workers=2)
        uris = {name: cluster.put(args.corpus / name) for name, _ in MIX}
        record = Record(redis_server.url)
        accepted: list[str] = []
        lock = threading.Lock()
        local = threading.local()

        def submit(i: int) -> None:
            name, target = MIX[i % len(MIX)]
            if not hasattr(local, "client"):
                local.client = cluster.client()
            try:
                task_id = cluster.submit(local.client, uris[name], target, out=f"{i}-{name}")
            except Exception as exc:
                progress(f"task {i} ({name}) refused: {exc}")
                with lock:
                    report.refused += 1
                return
            with lock:
                accepted.append(task_id)

        load_before = os.getloadavg()[0]
        started = time.monotonic()
        progress(f"submitting {args.count} tasks")
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(submit, range(args.count)))
        report.submitted = args.count

        def finished() -> int:
            return sum(1 for t in accepted if receiver.for_task(t))

        kill_at = int(len(accepted) * args.kill_after)
        wait_until(f"{kill_at} tasks done", lambda: finished() >= kill_at, args.timeout, 0.2)
        victim = cluster.worker("worker1")
        report.killed_at_done = finished()
        progress(f"{report.killed_at_done} done: SIGKILL to worker1's process tree")
        cluster.kill_tree(victim)
        cluster.start_worker("worker3")
        progress("worker3 started in its place")

        deadline = started + args.timeout
        shown = -1
        while (done := finished()) < len(accepted) and time.monotonic() < deadline:
            if done // 25 != shown:
                shown = done // 25
                progress(f"{done}/{len(accepted)} notified")
            time.sleep(1)
        time.sleep(3)  # late repeats
        report.seconds = round(time.monotonic() - started, 1)
        report.throughput_per_s = round(len(accepted) / report.seconds, 2)
        report.load_average = f"{load_before:.1f} at start, {os.getloadavg()[0]:.1f} at end"
        tally(report, accepted, record, receiver, cluster)
    finally:
        cluster.stop()
        redis_server.stop()
        receiver.stop()
    shutil.rmtree(base, ignore_errors=True)
    return report


def tally(report: Report, accepted: list[str], record: Any, receiver: Any, cluster: Any) -> None:
    logs = "".join(w.log(50_000_000) for w in cluster.procs if w.name.startswith("worker"))
    twice = Counter(re.findall(r"task (\S+) was finished by another run", logs))
    failed: Counter[str] = Counter()
    for task_id in accepted:
        fields = record.get(task_id)
        deliveries = receiver.for_task(task_id)
        event_ids = {d.headers.get("x-imm-event-id") for d in deliveries}
        status = fields.get("status")
        if status not in ("Succeeded", "Failed") or not deliveries:
            report.lost += 1
            report.lost_ids.append(task_id)
            continue
        if status == "Succeeded":
            report.succeeded += 1
        else:
            failed[fields.get("code", "?")] += 1
        if int(fields.get("attempts", "1")) > 1:
            report.rerun += 1
        if len(event_ids) > 1 or twice[task_id]:
            report.duplicated += 1
        elif len(deliveries) > 1:
            report.repeated_same_event += 1
    report.failed = dict(failed)


def table(r: Report) -> str:
    failed = ", ".join(f"{code} {n}" for code, n in sorted(r.failed.items())) or "0"
    rows = [
        ("submitted", str(r.submitted)),
        ("refused at submission", str(r.refused)),
        ("completed (Succeeded)", str(r.succeeded)),
        ("failed (by code)", f"{sum(r.failed.values())}: {failed}"),
        ("run again after the kill", str(r.rerun)),
        ("repeated event, same EventId", str(r.repeated_same_event)),
        ("duplicated", str(r.duplicated)),
        ("lost", str(r.lost) + (f" {r.lost_ids[:5]}" if r.lost_ids else "")),
        ("worker killed after", f"{r.killed_at_done} tasks done"),
        ("wall time", f"{r.seconds:.0f} s ({r.throughput_per_s:.2f} tasks/s)"),
        ("load average", r.load_average),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def progress(message: str) -> None:
    print(f"soak: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
