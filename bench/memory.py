"""(f) Memory of a worker over many documents: one worker process (and its soffice) converts
`count` small documents of every family, two in flight so it is never idle, while a sampler
reads the resident set size (VmRSS) of each of the service's processes every 0.25 s.

Reported by role: `pool` (the Celery process that converts: UNO bridge, PyMuPDF, storage),
`soffice` (its LibreOffice, recycled every IMM_SOFFICE_RESTART_AFTER documents, 200 by
default), `worker` (Celery's main process), `api`, `notifier`."""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.service import Service, Submitted, rss_bytes
from bench.util import progress

MIX = (
    ("simple.docx", "pdf"),
    ("vodafone.xlsx", "png"),
    ("sample-presentation.pptx", "png"),
    ("fake.doc", "pdf"),
    ("page-breaks.docx", "png"),
    ("stanley-cups.csv", "pdf"),
    ("fake.odt", "pdf"),
    ("multi-column-2p.pdf", "png"),
)
ROLES = ("pool", "soffice", "worker", "api", "notifier")
MIB = 1024 * 1024


@dataclass
class Memory:
    documents: int = 0
    #: (documents done, {role: RSS MiB}) at every sample.
    samples: list[tuple[int, dict[str, float]]] = field(default_factory=list)
    peak_mib: dict[str, float] = field(default_factory=dict)
    soffice_pids: set[int] = field(default_factory=set)

    def at(self, done: int) -> dict[str, float]:
        """The last sample taken with at most `done` documents finished."""
        best: dict[str, float] = {}
        for n, rss in self.samples:
            if n > done:
                break
            best = rss
        return best

    def to_dict(self) -> dict[str, Any]:
        marks = sorted({min(self.documents, m) for m in (10, 50, 100, 200, 300, 400, 500)})
        return {
            "documents": self.documents,
            "peak_mib": {k: round(v, 1) for k, v in self.peak_mib.items()},
            "rss_mib_after": {
                str(m): {k: round(v, 1) for k, v in self.at(m).items()} for m in marks
            },
            "soffice_processes_seen": len(self.soffice_pids),
            "series": [[n, {k: round(v, 1) for k, v in r.items()}] for n, r in self.samples],
        }


class Sampler(threading.Thread):
    def __init__(self, service: Service, memory: Memory, done: list[int]) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.service, self.memory, self.done = service, memory, done
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.wait(0.25):
            roles = self.service.worker_pids()
            rss = {
                role: sum(rss_bytes(p) for p in roles.get(role, [])) / MIB
                for role in ROLES
                if roles.get(role)
            }
            self.memory.soffice_pids.update(roles.get("soffice", []))
            for role, mib in rss.items():
                self.memory.peak_mib[role] = max(self.memory.peak_mib.get(role, 0.0), mib)
            self.memory.samples.append((self.done[0], rss))


def measure(service: Service, corpus: Path, count: int, timeout: float) -> Memory:
    """The service is running with one worker process."""
    for doc, _ in MIX:
        if not (service.bucket / doc).exists():
            service.add_source(corpus / doc)
    memory = Memory(documents=count)
    done = [0]
    sampler = Sampler(service, memory, done)
    sampler.start()
    started = time.perf_counter()
    try:
        work = itertools.islice(itertools.cycle(MIX), count)
        in_flight: deque[Submitted] = deque()
        for n, (doc, target) in enumerate(work):
            in_flight.append(service.submit(doc, target, f"mem-{n}"))
            if len(in_flight) >= 2:
                service.wait(in_flight.popleft(), timeout)
                done[0] += 1
                if done[0] % 50 == 0:
                    service.clear_outputs()
                    pool = memory.samples[-1][1].get("pool", 0.0) if memory.samples else 0.0
                    progress(
                        f"[memory] {done[0]}/{count} documents, "
                        f"{time.perf_counter() - started:.0f} s, pool RSS {pool:.0f} MiB"
                    )
        while in_flight:
            service.wait(in_flight.popleft(), timeout)
            done[0] += 1
        time.sleep(0.5)  # one more sample with everything done
    finally:
        sampler.stop_event.set()
        sampler.join()
        service.clear_outputs()
    return memory
