"""(c) How soon a client learns that a task finished: our completion notification vs. a
client polling `GetTask` once a second, for the same tasks, side by side.

Both delays are measured from the task's `EndTime` (written by the worker as it finishes the
record, microsecond precision, same host clock): the notification's arrival at the webhook
receiver, and the first `GetTask` poll that returns a finished status. The poller polls every
second from submission; where in its second the first poll falls is drawn at random for each
task, as for clients whose tasks end at any moment, so its mean delay is the mean a polling
client sees (about half the interval, plus the call)."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bench import BenchError
from bench.service import PROJECT, Service
from bench.util import median, ms, percentile, progress

FINISHED = frozenset({"Succeeded", "Failed", "Cancelled"})
POLL_INTERVAL_S = 1.0


def parse_end_time(text: str) -> float:
    """IMM's `EndTime` ("2026-11-23T10:00:00.123456Z") as a Unix timestamp."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass
class Latency:
    notify_s: list[float] = field(default_factory=list)
    poll_s: list[float] = field(default_factory=list)
    poll_calls: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tasks": len(self.notify_s),
            "notify_ms_median": ms(median(self.notify_s)),
            "notify_ms_p95": ms(percentile(self.notify_s, 95)),
            "notify_ms_max": ms(max(self.notify_s, default=None)),
            "poll_ms_median": ms(median(self.poll_s)),
            "poll_ms_mean": ms(sum(self.poll_s) / len(self.poll_s) if self.poll_s else None),
            "poll_ms_p95": ms(percentile(self.poll_s, 95)),
            "poll_calls_median": median([float(c) for c in self.poll_calls]),
            "notify_samples_ms": [round(x * 1000, 2) for x in self.notify_s],
            "poll_samples_ms": [round(x * 1000, 2) for x in self.poll_s],
        }


class Poller(threading.Thread):
    """GetTask every POLL_INTERVAL_S from `started` until the task is finished."""

    def __init__(
        self, client: Any, task_id: str, started_wall: float, timeout: float, phase: float
    ) -> None:
        super().__init__(daemon=True, name=f"poll-{task_id}")
        self.client, self.task_id = client, task_id
        self.started_wall, self.timeout, self.phase = started_wall, timeout, phase
        self.seen_wall: float | None = None
        self.calls = 0
        self.error: str | None = None

    def run(self) -> None:
        from alibabacloud_imm20200930 import models as m

        request = m.GetTaskRequest(
            project_name=PROJECT, task_type="OfficeConversion", task_id=self.task_id
        )
        tick = 0
        while tick * POLL_INTERVAL_S < self.timeout:
            due = self.started_wall + (tick + self.phase) * POLL_INTERVAL_S
            time.sleep(max(0.0, due - time.time()))
            tick += 1
            try:
                status = self.client.get_task(request).body.status
            except Exception as exc:  # reported, not raised: the thread has no caller
                self.error = repr(exc)
                return
            self.calls += 1
            if status in FINISHED:
                self.seen_wall = time.time()
                return
        self.error = f"still not finished after {self.timeout:.0f} s"


def measure(service: Service, key: str, count: int, timeout: float) -> Latency:
    result = Latency()
    client = service.client()
    phases = random.Random(20201130)
    for n in range(1, count + 1):
        started_wall = time.time()
        sub = service.submit(key, "pdf", f"latency-{n}")
        poller = Poller(client, sub.task_id, started_wall, timeout, phases.random())
        poller.start()
        out = service.wait(sub, timeout)
        poller.join(timeout)
        if poller.seen_wall is None:
            raise BenchError(f"(c) GetTask polling of {sub.task_id} failed: {poller.error}")
        assert out.arrival is not None
        end = parse_end_time(str(out.arrival.content.get("EndTime") or ""))
        result.notify_s.append(out.arrival.wall - end)
        result.poll_s.append(poller.seen_wall - end)
        result.poll_calls.append(poller.calls)
        progress(
            f"[latency] {n}/{count}: notification {1000 * result.notify_s[-1]:.1f} ms, "
            f"polling {1000 * result.poll_s[-1]:.0f} ms after EndTime"
        )
    service.clear_outputs()
    return result
