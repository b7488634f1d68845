"""ListTasks at scale: per-page latency of each filter, and Redis memory per task.

    python -m bench.state_scale --sizes 20000,200000,1000000

Starts a private redis-server (no persistence) on a free port and grows one project to each
size in turn, writing the records with the service's own write path (`TaskStore.create_many`:
the record, its ListTasks indexes and its tag sets, pipelined), not through conversions. At
each size it times the first page (MaxResults=100) of every filter in FILTERS, in-process
(`TaskIndex.page`, the work ListTasks does without HTTP and signing), as the median of
`--repeat` runs, and reads INFO memory. Unlike the rest of bench/, this measures the state
layer, so it imports imm_engine.state.

The tag profile: every task has `batch` (50 values: 1 task in 50 matches one), `user` (1,000
values) and `env` (`prod` or `test`, half each); 1 task in 10,000 also has `rare`.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import BenchError
from bench.service import free_port

RESULTS = Path(__file__).resolve().parent / "results" / "state_scale.json"
PROJECT = "scale"
TYPES = [
    ("OfficeConversion", 70),
    ("ImageToPDF", 10),
    ("FileCompression", 10),
    ("MediaConvert", 10),
]
STATUSES = [("Succeeded", 90), ("Failed", 8), ("Running", 2)]
#: (name, ListTasks parameters). Times are filled in relative to the newest task.
FILTERS: list[tuple[str, dict[str, Any]]] = [
    ("none (Sort=TaskId)", {}),
    ("Status=Failed", {"status": "Failed"}),
    ("TaskTypes=[ImageToPDF]", {"task_types": ["ImageToPDF"]}),
    ("StartTimeRange last hour, Sort=StartTime desc", {"start_range": "1h", "sort": "StartTime",
                                                       "order": "desc"}),
    ("TagSelector batch=b7 (1 in 50)", {"tag_selector": "batch=b7"}),
    ("TagSelector batch=b7, Sort=EndTime desc", {"tag_selector": "batch=b7", "sort": "EndTime",
                                                 "order": "desc"}),
    ("TagSelector user=u42 (1 in 1,000)", {"tag_selector": "user=u42"}),
    ("TagSelector rare (1 in 10,000)", {"tag_selector": "rare"}),
    ("TagSelector batch=b7,user=u42 (1 in 50,000)",
     {"tag_selector": "batch=b7,user=u42"}),
    ("TagSelector batch=nomatch (none)", {"tag_selector": "batch=nomatch"}),
    ("TagSelector user=u42,env!=prod (!= filtered)", {"tag_selector": "user=u42,env!=prod"}),
    ("TagSelector !rare, Status=Running (no tag index)", {"tag_selector": "!rare",
                                                          "status": "Running"}),
]  # fmt: skip


@dataclass
class SizeResult:
    tasks: int
    write_s: float
    used_memory_bytes: int
    bytes_per_task: float
    record_bytes_per_task: float
    index_bytes_per_task: float
    #: filter name -> [median ms of the first page, tasks returned]
    pages: dict[str, list[float]] = field(default_factory=dict)
    #: Seconds to add every task to the tag sets afresh (--backfill; 0: not measured).
    backfill_s: float = 0.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.state_scale", description=__doc__)
    p.add_argument("--sizes", default="20000,200000,1000000", help="project sizes, ascending")
    p.add_argument("--repeat", type=int, default=5, help="runs of each page (median)")
    p.add_argument(
        "--backfill",
        action="store_true",
        help="at the last size, also time adding every task to the tag sets afresh (what the "
        "first TagSelector listing after an upgrade does)",
    )
    p.add_argument("--json", type=Path, default=RESULTS, help=f"({RESULTS})")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if sizes != sorted(sizes) or not sizes:
        raise SystemExit("--sizes must be ascending")
    try:
        results = run(sizes, args.repeat, args.backfill)
    except BenchError as exc:
        print(f"state_scale: {exc}", file=sys.stderr)
        return 1
    print(table(results))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps([asdict(r) for r in results], indent=1))
    return 0


def run(sizes: list[int], repeat: int, backfill: bool = False) -> list[SizeResult]:
    import redis

    from imm_engine.state.keys import Keys
    from imm_engine.state.store import TaskStore

    binary = shutil.which("redis-server")
    if not binary:
        raise BenchError("redis-server is not installed (make deps)")
    base = Path(tempfile.mkdtemp(prefix="imm-state-scale-"))
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(base), "--save", "",
         "--appendonly", "no", "--daemonize", "no", "--logfile", str(base / "redis.log")],
        start_new_session=True,
    )  # fmt: skip
    client = redis.Redis(port=port, socket_timeout=120)
    try:
        _wait_ready(client)
        keys = Keys("immscale")
        store = TaskStore(client, keys, ttl_s=7 * 86400)
        baseline = int(client.info("memory")["used_memory"])
        rng = random.Random(1)
        now = time.time()
        written = 0
        results = []
        for size in sizes:
            started = time.monotonic()
            while written < size:
                n = min(20_000, size - written)
                bulk_write(client, store, [_record(rng, now, written + i) for i in range(n)])
                written += n
                progress(f"{written} tasks written")
            write_s = time.monotonic() - started
            client.set(keys.task_tags_ready(PROJECT), "1")  # written with their tag sets
            result = measure(client, store, written, baseline, repeat, now)
            result.write_s = round(write_s, 1)
            results.append(result)
            progress(json.dumps(asdict(result)))
        if backfill:
            results[-1].backfill_s = time_backfill(client, store)
        return results
    finally:
        client.close()
        proc.terminate()
        proc.wait(60)
        shutil.rmtree(base, ignore_errors=True)


def _wait_ready(client: Any) -> None:
    import redis

    deadline = time.monotonic() + 30
    while True:
        try:
            client.ping()
            return
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise BenchError("redis-server did not start") from None
            time.sleep(0.05)


def bulk_write(client: Any, store: Any, records: list[Any]) -> None:
    """What `TaskStore.create_many` writes (the records, `TaskIndex.entries`, the tags hash),
    with one ZADD per index set for the whole batch: about 20 times faster in Python."""
    from collections import defaultdict

    zadds: dict[str, dict[str, int]] = defaultdict(dict)
    tags: dict[str, dict[str, str]] = defaultdict(dict)
    pipe = client.pipeline(transaction=False)
    for rec in records:
        key = store.keys.task(rec.task_id)
        pipe.hset(key, mapping=rec.to_fields())
        pipe.expireat(key, int(rec.start_ts + store.ttl_s))
        for index_key, score in store.index.entries(rec):
            zadds[index_key][rec.task_id] = score
        if rec.tags:
            tags[store.keys.task_tags(rec.project)][rec.task_id] = json.dumps(rec.tags)
    for index_key, members in zadds.items():
        pipe.zadd(index_key, members)
        pipe.expire(index_key, store.ttl_s)
    for tags_key, mapping in tags.items():
        pipe.hset(tags_key, mapping=mapping)
        pipe.expire(tags_key, store.ttl_s)
    pipe.execute()


def _record(rng: random.Random, now: float, i: int) -> Any:
    from imm_engine.models import TaskRecord, TaskStatus

    task_type = _pick(rng, TYPES)
    status = TaskStatus(_pick(rng, STATUSES))
    start = now - rng.uniform(60, 6.5 * 86400)
    end = 0.0 if status == TaskStatus.RUNNING else start + rng.uniform(0.5, 120)
    tags: dict[str, Any] = {
        "batch": f"b{i % 50}",
        "user": f"u{(i // 50) % 1000}",
        "env": "prod" if i % 2 else "test",
    }
    if i % 10_000 == 1234:
        tags["rare"] = "yes"
    return TaskRecord(
        project=PROJECT,
        task_type=task_type,
        task_id=f"{task_type}-{uuid.UUID(int=rng.getrandbits(128))}",
        request_id=str(uuid.UUID(int=rng.getrandbits(128))).upper(),
        event_id=f"{rng.getrandbits(40):x}-{rng.getrandbits(60):x}",
        start_ts=start,
        status=status,
        end_ts=end,
        progress=100 if status == TaskStatus.SUCCEEDED else 0,
        code="" if status != TaskStatus.FAILED else "InvalidFile.Unreadable",
        tags=tags,
        user_data='{"ref":"' + uuid.UUID(int=rng.getrandbits(128)).hex + '"}',
        notification={"MNS": {"TopicName": "imm-events"}},
        job={"source": f"oss://bucket/in/{i}.docx", "target_type": "pdf"},
    )


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def measure(
    client: Any, store: Any, tasks: int, baseline: int, repeat: int, now: float
) -> SizeResult:
    from imm_engine.state.query import build_query

    used = int(client.info("memory")["used_memory"]) - baseline
    record_bytes = _sample_record_bytes(client, store, 200)
    result = SizeResult(
        tasks=tasks,
        write_s=0.0,
        used_memory_bytes=used,
        bytes_per_task=round(used / tasks, 1),
        record_bytes_per_task=round(record_bytes, 1),
        index_bytes_per_task=round(used / tasks - record_bytes, 1),
    )
    for name, params in FILTERS:
        kwargs: dict[str, Any] = dict.fromkeys(
            ("task_types", "status", "start_range", "end_range", "tag_selector", "sort",
             "order", "max_results", "next_token"),
        )  # fmt: skip
        kwargs.update(params)
        if kwargs["start_range"] == "1h":
            kwargs["start_range"] = {"Start": _iso(now - 3600)}
        query = build_query(with_definition=False, **kwargs)
        times = []
        returned = 0
        for _ in range(repeat):
            t0 = time.perf_counter()
            page = store.index.page(PROJECT, query)
            times.append((time.perf_counter() - t0) * 1000)
            returned = len(page.records)
        result.pages[name] = [round(statistics.median(times), 1), returned]
    return result


def time_backfill(client: Any, store: Any) -> float:
    """Drop the project's tag sets, tags hash and ready marker (what an older version left),
    then time `tags_ready`, which puts them back."""
    prefix = f"{store.keys.prefix}:project:{PROJECT}:tasks:"
    doomed = [k for k in client.scan_iter(f"{prefix}*tag*", count=10_000)]
    for i in range(0, len(doomed), 1000):
        client.delete(*doomed[i : i + 1000])
    store.index._tags_ready.discard(PROJECT)
    started = time.monotonic()
    assert store.index.tags_ready(PROJECT)
    tagged = client.hlen(store.keys.task_tags(PROJECT))
    seconds = round(time.monotonic() - started, 1)
    progress(f"backfill: {tagged} tagged tasks in {seconds} s")
    return seconds


def _sample_record_bytes(client: Any, store: Any, n: int) -> float:
    """Mean MEMORY USAGE of `n` task records (the hash and its key), by random TaskIds."""
    members = client.zrandmember(store.keys.project_index(PROJECT), n)
    sizes = [client.memory_usage(store.keys.task(m.decode()), samples=0) or 0 for m in members]
    return sum(sizes) / max(1, len(sizes))


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def table(results: list[SizeResult]) -> str:
    lines = ["ms per first page (MaxResults=100), median; tasks returned in brackets", ""]
    head = "filter".ljust(58) + "".join(f"{r.tasks:>16,}" for r in results)
    lines.append(head)
    for name, _ in FILTERS:
        cells = "".join(f"{r.pages[name][0]:>10.1f} [{int(r.pages[name][1]):>3}]" for r in results)
        lines.append(name[:58].ljust(58) + cells)
    lines.append("")
    for r in results:
        lines.append(
            f"{r.tasks:>9,} tasks: {r.used_memory_bytes / 2**20:8.1f} MiB used, "
            f"{r.bytes_per_task:.0f} B/task (record {r.record_bytes_per_task:.0f}, "
            f"indexes {r.index_bytes_per_task:.0f}); written in {r.write_s:.0f} s"
            + (f"; tag sets rebuilt in {r.backfill_s:.0f} s" if r.backfill_s else "")
        )
    return "\n".join(lines)


def progress(message: str) -> None:
    print(f"state_scale: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
