"""(d) Throughput with 1 and 2 worker processes: the same batch of small documents submitted
at once; documents per second from the first submission to the last completion notification.
Each process has its own warm LibreOffice; both are warmed before the batch."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.service import Service, cpu_seconds, running
from bench.util import progress

#: (document, target): small documents of each family, as a busy service sees them.
MIX = (
    ("simple.docx", "pdf"),
    ("vodafone.xlsx", "pdf"),
    ("sample-presentation.pptx", "png"),
    ("page-breaks.docx", "png"),
    ("fake.doc", "pdf"),
)


@dataclass(frozen=True)
class Throughput:
    workers: int
    documents: int
    seconds: float
    #: CPU seconds used during the batch, by process role (and "bench", the SDK client).
    cpu_s: dict[str, float]

    @property
    def per_second(self) -> float:
        return self.documents / self.seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            "workers": self.workers,
            "documents": self.documents,
            "seconds": round(self.seconds, 3),
            "docs_per_s": round(self.per_second, 3),
            "cpu_ms_per_doc": {
                role: round(1000 * sec / self.documents, 1) for role, sec in self.cpu_s.items()
            },
            "cpu_busy": round(sum(self.cpu_s.values()) / self.seconds, 2),
        }


def cpu_by_role(service: Service) -> dict[int, tuple[str, float]]:
    return {
        pid: (role, cpu_seconds(pid))
        for role, pids in service.worker_pids().items()
        for pid in pids
    }


def cpu_used(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    used: dict[str, float] = {}
    for pid, (role, sec) in after.items():
        used[role] = used.get(role, 0.0) + sec - before.get(pid, (role, 0.0))[1]
    return used


def measure(
    workers: int, count: int, corpus: Path, workdir: Path, log: Path, timeout: float
) -> Throughput:
    with running(workdir / f"tp{workers}", log, "throughput", concurrency=workers) as service:
        for doc in {d for d, _ in MIX}:
            service.add_source(corpus / doc)
        # Warm every process: twice as many small conversions as processes, at once.
        warm = [service.submit("simple.docx", "pdf", f"warm{i}") for i in range(2 * workers)]
        warm += [service.submit("vodafone.xlsx", "pdf", f"warmx{i}") for i in range(workers)]
        warm += [
            service.submit("sample-presentation.pptx", "pdf", f"warmp{i}") for i in range(workers)
        ]
        for sub in warm:
            service.wait(sub, timeout)
        batch = list(itertools.islice(itertools.cycle(MIX), count))
        cpu_before, bench_before = cpu_by_role(service), time.process_time()
        subs = [service.submit(doc, target, f"tp-{i}") for i, (doc, target) in enumerate(batch)]
        outcomes = [service.wait(sub, timeout) for sub in subs]
        last = max(o.arrival.at for o in outcomes if o.arrival is not None)
        cpu = cpu_used(cpu_before, cpu_by_role(service))
        cpu["bench"] = time.process_time() - bench_before
        result = Throughput(workers, count, last - subs[0].started, cpu)
        progress(
            f"[throughput] {workers} worker(s): {count} documents in {result.seconds:.2f} s "
            f"({result.per_second:.2f}/s)"
        )
        return result
