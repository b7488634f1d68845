"""(e) API requests per second: `CreateOfficeConversionTask` and `GetTask` through the
official SDK from several client threads, against `imm-engine api` alone (no worker runs, so
the conversions wait in the queue and take no CPU from the API; the bench deletes them).

The clients run on the same 2-core machine as the API, so the figures are a floor: the SDK's
own signing and HTTP handling share the CPU with the server."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from bench import BenchError
from bench.service import BUCKET, PROJECT, TOPIC, running
from bench.util import Rate, progress


def _hammer(rate: Rate, clients: list[Any], call: Any, duration: float) -> None:
    lock = threading.Lock()
    stop_at = time.perf_counter() + duration

    def loop(client: Any, n: int) -> None:
        i = 0
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            try:
                call(client, n, i)
            except Exception as exc:  # counted and reported
                with lock:
                    rate.errors.append(repr(exc)[:300])
                continue
            dt = time.perf_counter() - t0
            with lock:
                rate.latencies_s.append(dt)
            i += 1

    threads = [threading.Thread(target=loop, args=(c, n)) for n, c in enumerate(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rate.seconds = time.perf_counter() - started


def measure(workdir: Path, log: Path, threads: int, duration: float, corpus: Path) -> list[Rate]:
    from alibabacloud_imm20200930 import models as m

    with running(workdir / "api", log, "api", command="api") as service:
        service.add_source(corpus / "simple.docx")
        clients = [service.client() for _ in range(threads)]
        created: list[list[str]] = [[] for _ in range(threads)]

        def create(client: Any, n: int, i: int) -> None:
            request = m.CreateOfficeConversionTaskRequest(
                project_name=PROJECT,
                source_uri=f"oss://{BUCKET}/simple.docx",
                target_type="pdf",
                target_uri=f"oss://{BUCKET}/out/{n}-{i}.pdf",
                notification=m.Notification(mns=m.MNS(topic_name=TOPIC)),
            )
            created[n].append(str(client.create_office_conversion_task(request).body.task_id))

        def get(client: Any, n: int, i: int) -> None:
            ids = created[n]
            request = m.GetTaskRequest(
                project_name=PROJECT, task_type="OfficeConversion", task_id=ids[i % len(ids)]
            )
            status = client.get_task(request).body.status
            if status != "Running":  # IMM has no "queued": a task is Running from creation
                raise BenchError(f"GetTask: unexpected Status {status!r}")

        rates = [Rate("CreateOfficeConversionTask", threads), Rate("GetTask", threads)]
        _hammer(rates[0], clients, create, duration)
        if not all(created):
            raise BenchError(f"(e) some threads created no task: {rates[0].errors[:1]}")
        _hammer(rates[1], clients, get, duration)
        for r in rates:
            progress(f"[api] {r.name}: {r.per_second:.0f} req/s, {len(r.errors)} errors")
        return rates
