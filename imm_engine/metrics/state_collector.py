"""Cluster-wide gauges read from Redis when Prometheus scrapes the API (GET /metrics).

Every API process computes the same values from the shared Redis, so any one of them can be
scraped. Per project, in one MULTI/EXEC (a consistent snapshot):

- tasks of a type: ZCOUNT of the project's start-time index of that type, from the task
  time to live ago (older entries belong to expired records not yet trimmed);
- Running and Failed tasks of a type: ZINTERCARD of the status and type index sets (which
  walks the smaller set: running and failed tasks are few), less the entries of expired
  records still indexed (read from the status's start-time index below the cutoff);
- Succeeded: the rest (every indexed task is in exactly one status set).

Waiting tasks (accepted, never started by a worker: Running with no attempt counted) are
read from the records of the Running tasks, at most WAITING_SCAN_MAX per scrape.
The broker's queue lengths are the Celery Redis lists (every priority level) under the
deployment's prefix; with RabbitMQ, a passive queue declaration per queue.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Sequence
from typing import Any

import redis
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from imm_engine.models import TaskStatus
from imm_engine.state import connection
from imm_engine.state.decode import text as _s
from imm_engine.state.keys import Keys
from imm_engine.state.task_index import STATUSES, type_of

log = logging.getLogger("imm_engine.metrics")

#: Most Running task records read per scrape to count the waiting ones.
WAITING_SCAN_MAX = 50_000
SCAN_BATCH = 1000
#: Most expired-but-indexed entries read per (project, status) per scrape.
EXPIRED_SCAN_MAX = 10_000
#: kombu's Redis transport: one list per priority step, suffixed with this separator.
KOMBU_PRIORITY_SEP = "\x06\x16"
KOMBU_PRIORITY_STEPS = (0, 3, 6, 9)


class StateCollector(Collector):
    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        *,
        task_types: Sequence[str],
        queues: Sequence[str],
        ttl_s: int,
        broker: BrokerQueues | None = None,
    ) -> None:
        #: Any: redis-py's return types are unions that every call would have to narrow.
        self.r: Any = client
        self.keys = keys
        self.task_types = tuple(task_types)
        self.queues = tuple(queues)
        self.ttl_s = ttl_s
        self.broker = broker

    def describe(self) -> list[Any]:
        return []  # computed at scrape time: nothing to check at registration

    def collect(self) -> Iterator[GaugeMetricFamily]:
        started = time.monotonic()
        ok = 1.0
        try:
            counts, waiting = self.task_counts(time.time())
        except redis.RedisError as exc:
            log.warning("metrics: cannot read task counts from Redis: %s", exc)
            ok = 0.0
        else:
            tasks = GaugeMetricFamily(
                "imm_tasks",
                "Tasks known to the task store (created within the task time to live), by task "
                "type and status. Running includes the tasks waiting in the queue.",
                labels=["task_type", "status"],
            )
            for (task_type, status), n in sorted(counts.items()):
                tasks.add_metric([task_type, status], n)
            yield tasks
            waits = GaugeMetricFamily(
                "imm_tasks_waiting",
                "Running tasks that no worker has started yet (queued), by task type.",
                labels=["task_type"],
            )
            for task_type in self.task_types:
                waits.add_metric([task_type], waiting.get(task_type, 0))
            yield waits
        try:
            outbox = self.outbox_sizes()
        except redis.RedisError as exc:
            log.warning("metrics: cannot read the outbox sizes from Redis: %s", exc)
            ok = 0.0
        else:
            g = GaugeMetricFamily(
                "imm_notify_queue",
                "Completion-event deliveries waiting: outbox (to send now), retry (waiting for "
                "their next attempt), dead (given up, kept for replay).",
                labels=["state"],
            )
            for state, n in outbox.items():
                g.add_metric([state], n)
            yield g
        lengths = self.broker.lengths(self.queues) if self.broker is not None else {}
        if lengths is None:
            ok = 0.0
        elif self.broker is not None:
            g = GaugeMetricFamily(
                "imm_broker_queue_length",
                "Messages waiting in the Celery broker queue (office, files, media).",
                labels=["queue"],
            )
            for queue, n in lengths.items():
                g.add_metric([queue], n)
            yield g
        yield GaugeMetricFamily(
            "imm_state_scrape_ok", "1 when every Redis read of this scrape worked, else 0.", ok
        )
        yield GaugeMetricFamily(
            "imm_state_scrape_seconds",
            "Time this scrape spent reading Redis.",
            time.monotonic() - started,
        )

    # --- reading ------------------------------------------------------------------------

    def projects(self) -> list[str]:
        return [_s(m) for m in self.r.zrange(self.keys.project_names, 0, -1)]

    def task_counts(self, now: float) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
        """({(task type, status): tasks}, {task type: waiting}) over all projects."""
        counts = {(t, str(s)): 0 for t in self.task_types for s in STATUSES}
        waiting = dict.fromkeys(self.task_types, 0)
        cutoff = math.floor((now - self.ttl_s) * 1000)
        budget = WAITING_SCAN_MAX
        for project in self.projects():
            for key, n in self.project_counts(project, cutoff).items():
                counts[key] = counts.get(key, 0) + n
            budget = self.count_waiting(project, cutoff, waiting, budget)
        return counts, waiting

    def project_counts(self, project: str, cutoff_ms: int) -> dict[tuple[str, str], int]:
        k = self.keys.task_list_index
        few = (str(TaskStatus.RUNNING), str(TaskStatus.FAILED))
        pipe = self.r.pipeline(transaction=True)
        for task_type in self.task_types:
            pipe.zcount(k(project, "start", "type", task_type), f"({cutoff_ms}", "+inf")
            for status in few:
                pipe.execute_command(
                    "ZINTERCARD",
                    2,
                    k(project, "id", "status", status),
                    k(project, "id", "type", task_type),
                )
        for status in few:
            pipe.zrangebyscore(
                k(project, "start", "status", status),
                "-inf",
                f"({cutoff_ms}",
                start=0,
                num=EXPIRED_SCAN_MAX,
            )
        replies = pipe.execute()
        expired: dict[tuple[str, str], int] = {}
        for status, members in zip(few, replies[-len(few) :], strict=True):
            for member in members:
                key = (type_of(_s(member)), status)
                expired[key] = expired.get(key, 0) + 1
        out: dict[tuple[str, str], int] = {}
        for i, task_type in enumerate(self.task_types):
            total, *per_status = (int(n) for n in replies[i * 3 : i * 3 + 3])
            rest = total
            for status, n in zip(few, per_status, strict=True):
                live = max(0, n - expired.get((task_type, status), 0))
                out[(task_type, status)] = live
                rest -= live
            out[(task_type, str(TaskStatus.SUCCEEDED))] = max(0, rest)
        return out

    def count_waiting(
        self, project: str, cutoff_ms: int, waiting: dict[str, int], budget: int
    ) -> int:
        """Add the project's never-started Running tasks to `waiting`; returns what is left
        of the scan budget."""
        key = self.keys.task_list_index(project, "start", "status", str(TaskStatus.RUNNING))
        offset = 0
        while budget > 0:
            num = min(SCAN_BATCH, budget)
            ids = [
                _s(m)
                for m in self.r.zrangebyscore(key, f"({cutoff_ms}", "+inf", start=offset, num=num)
            ]
            if not ids:
                break
            pipe = self.r.pipeline(transaction=False)
            for task_id in ids:
                pipe.hmget(self.keys.task(task_id), "status", "attempts")
            for task_id, (status, attempts) in zip(ids, pipe.execute(), strict=True):
                if status is None or _s(status) != TaskStatus.RUNNING:
                    continue  # expired, or finished since the index was read
                if int(_s(attempts or b"0") or 0) == 0:
                    task_type = type_of(task_id)
                    if task_type in waiting:
                        waiting[task_type] += 1
            budget -= len(ids)
            offset += len(ids)
            if len(ids) < num:
                break
        return budget

    def outbox_sizes(self) -> dict[str, int]:
        pipe = self.r.pipeline(transaction=False)
        pipe.xlen(self.keys.outbox)
        pipe.zcard(self.keys.outbox_retry)
        pipe.llen(self.keys.outbox_dead)
        outbox, retry, dead = (int(n) for n in pipe.execute())
        return {"outbox": outbox, "retry": retry, "dead": dead}


class BrokerQueues:
    """Lengths of the Celery queues: LLEN of kombu's Redis lists, or (RabbitMQ) a passive
    queue declaration. `queues` are the short names (office, files, media)."""

    def __init__(
        self,
        broker_url: str,
        keys: Keys,
        client: redis.Redis | None = None,
        *,
        sentinel_password: str = "",
    ) -> None:
        self.url = broker_url
        self.keys = keys
        self.redis: Any = client
        self.is_redis = broker_url.startswith(("redis", "unix"))
        if self.is_redis and self.redis is None:
            self.redis = connection.connect(
                broker_url.replace("redis+socket://", "unix://"),
                sentinel_password=sentinel_password,
                socket_timeout=5,
                socket_connect_timeout=2,
            )

    def lengths(self, queues: Sequence[str]) -> dict[str, int] | None:
        """{queue: messages waiting} (a RabbitMQ queue not declared yet is left out); None
        when the broker cannot be read."""
        try:
            if self.is_redis:
                return self._redis_lengths(queues)
            return self._amqp_lengths(queues)
        except Exception as exc:
            log.warning("metrics: cannot read the broker queue lengths: %s", exc)
            return None

    def redis_key(self, queue: str, priority: int) -> str:
        name = self.keys.queue(queue)
        suffix = f"{KOMBU_PRIORITY_SEP}{priority}" if priority else ""
        return f"{self.keys.celery_prefix}{name}{suffix}"

    def _redis_lengths(self, queues: Sequence[str]) -> dict[str, int]:
        pipe = self.redis.pipeline(transaction=False)
        for queue in queues:
            for priority in KOMBU_PRIORITY_STEPS:
                pipe.llen(self.redis_key(queue, priority))
        replies = [int(n) for n in pipe.execute()]
        steps = len(KOMBU_PRIORITY_STEPS)
        return {q: sum(replies[i * steps : (i + 1) * steps]) for i, q in enumerate(queues)}

    def _amqp_lengths(self, queues: Sequence[str]) -> dict[str, int]:
        from kombu import Connection

        out: dict[str, int] = {}
        with Connection(self.url, connect_timeout=2, transport_options={"max_retries": 0}) as conn:
            for queue in queues:
                channel = conn.channel()
                try:
                    ok = channel.queue_declare(queue=self.keys.queue(queue), passive=True)
                    out[queue] = int(ok.message_count)
                except Exception as exc:  # not declared yet (no worker started): unknown
                    log.debug("metrics: queue %s: %s", queue, exc)
                finally:
                    try:
                        channel.close()
                    except Exception:
                        log.debug("metrics: closing the channel of %s failed", queue)
        return out
