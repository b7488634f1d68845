"""Task records in Redis.

A record is a hash that expires `task_ttl` after the task started (IMM keeps task information
7 days from start). Finishing a task is one Lua call that sets the final status only if the
record is still Running and, in the same step, queues the completion event for every
destination in the outbox stream: a finished task always has its events queued, and a task
that is run twice (a redelivered message) finishes, and notifies, once.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import redis

from imm_engine.models import TaskRecord, TaskStatus
from imm_engine.state.decode import text as _s
from imm_engine.state.keys import Keys
from imm_engine.state.query import TaskQuery
from imm_engine.state.task_index import Page, TaskIndex

_FINISH = """
if redis.call('HGET', KEYS[1], 'status') ~= 'Running' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'code', ARGV[2], 'message', ARGV[3],
           'end_ts', ARGV[4], 'result', ARGV[6])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'progress', ARGV[5]) end
local n = tonumber(ARGV[7])
for i = 0, n - 1 do
  redis.call('XADD', KEYS[2], '*', 'task_id', ARGV[8], 'event_id', ARGV[9],
             'destination', ARGV[10 + i * 2], 'body', ARGV[11 + i * 2], 'attempt', '0')
end
-- ListTasks indexes (imm_engine/state/task_index.py), when KEYS[3..] are given: out of the
-- Running sets (3..5), into the final status's (6..8), with the end time as the score of every
-- end-sorted set (8..: the status's, all, the type's, then the task's tag sets).
if #KEYS >= 10 then
  local id = ARGV[8]
  local start_ms = math.floor(tonumber(redis.call('HGET', KEYS[1], 'start_ts') or '0') * 1000)
  local end_ms = math.floor(tonumber(ARGV[4]) * 1000)
  local ttl = redis.call('PTTL', KEYS[1])
  for i = 3, 5 do redis.call('ZREM', KEYS[i], id) end
  redis.call('ZADD', KEYS[6], 0, id)
  redis.call('ZADD', KEYS[7], start_ms, id)
  for i = 8, #KEYS do redis.call('ZADD', KEYS[i], end_ms, id) end
  for i = 6, #KEYS do
    local kttl = redis.call('PTTL', KEYS[i])
    if ttl > 0 and (kttl == -1 or (kttl >= 0 and kttl < ttl)) then
      redis.call('PEXPIRE', KEYS[i], ttl)
    end
  end
end
return 1
"""

#: Every this many creates, a store trims expired entries from the project's ListTasks indexes.
TRIM_EVERY = 50

_PROGRESS = """
if redis.call('HGET', KEYS[1], 'status') ~= 'Running' then return 0 end
redis.call('HSET', KEYS[1], 'progress', ARGV[1])
return 1
"""


class NotDurable(Exception):
    """A write was not acknowledged by enough replicas to survive a failover."""


@dataclass(frozen=True)
class OutboxEvent:
    destination: str
    body: str


class TaskListing(Protocol):
    """What the API does with a project's ListTasks indexes (TaskIndex)."""

    def trim(self, project: str, now: float) -> int: ...

    def page(self, project: str, query: TaskQuery, not_before: float = 0.0) -> Page: ...

    def drop_project(self, project: str, task_types: Sequence[str]) -> None: ...


class TaskRecords(Protocol):
    """What the API's actions need of the task records. TaskStore is the one the server runs;
    the API's unit tests use an in-memory one (tests/support/memory_state.py) that a contract
    test (tests/integration/test_task_records_contract.py) holds to TaskStore's behaviour."""

    @property
    def index(self) -> TaskListing: ...

    def create(self, rec: TaskRecord) -> None: ...

    def confirm(self, rec: TaskRecord, replicas: int, timeout_ms: int) -> None: ...

    def delete(self, rec: TaskRecord) -> None: ...

    def get(self, task_id: str) -> TaskRecord | None: ...

    def deliveries(self, task_id: str) -> list[Any]:
        """The task's notification delivery log, oldest first, as stored (JSON texts)."""
        ...


class TaskStore:
    def __init__(self, client: redis.Redis, keys: Keys, ttl_s: int) -> None:
        self.r = client
        self.keys = keys
        self.ttl_s = ttl_s
        self._finish = client.register_script(_FINISH)
        self._progress = client.register_script(_PROGRESS)
        self.index = TaskIndex(client, keys, ttl_s)
        self._creates = 0

    def create(self, rec: TaskRecord) -> None:
        pipe = self.r.pipeline(transaction=True)
        self._queue_create(pipe, rec)
        pipe.execute()
        self._creates += 1
        if self._creates % TRIM_EVERY == 0:
            # ListTasks trims the project it lists; this bounds the indexes of projects that
            # are never listed. Best effort: the task is created whatever happens here.
            with contextlib.suppress(redis.RedisError):
                self.index.trim(rec.project, time.time())

    def confirm(self, rec: TaskRecord, replicas: int, timeout_ms: int) -> None:
        """Return once `replicas` replicas hold the record and everything written before
        (the broker message included: replication is one ordered stream); NotDurable if they
        do not within `timeout_ms`, or the record is not on the master any more.

        WAIT counts the replicas that acknowledged this connection's last write, so the last
        write must come after the message: re-setting the record's expiry (same value) is one.
        """
        if replicas <= 0:
            return
        pipe = self.r.pipeline(transaction=False)
        pipe.expireat(self.keys.task(rec.task_id), int(rec.start_ts + self.ttl_s))
        pipe.execute_command("WAIT", replicas, timeout_ms)
        present, acked = pipe.execute()
        if not present:
            raise NotDurable(f"task {rec.task_id}: the record is not on the master")
        if int(acked) < replicas:
            raise NotDurable(
                f"task {rec.task_id}: {acked} of {replicas} replicas acknowledged "
                f"within {timeout_ms} ms"
            )

    def create_many(self, records: Sequence[TaskRecord], batch: int = 500) -> None:
        """Write many records, `batch` per round trip (imports, tests)."""
        for i in range(0, len(records), batch):
            pipe = self.r.pipeline(transaction=False)
            for rec in records[i : i + batch]:
                self._queue_create(pipe, rec)
            pipe.execute()

    def _queue_create(self, pipe: Any, rec: TaskRecord) -> None:
        """The record and its ListTasks index entries (which also hold the project index)."""
        key = self.keys.task(rec.task_id)
        expire_at = int(rec.start_ts + self.ttl_s)
        pipe.hset(key, mapping=dict(rec.to_fields()))
        pipe.expireat(key, expire_at)
        self.index.add(pipe, rec)

    def delete(self, rec: TaskRecord) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.delete(self.keys.task(rec.task_id))
        pipe.zrem(self.keys.project_index(rec.project), rec.task_id)
        self.index.remove(pipe, rec.project, [rec.task_id], [rec.tags])
        pipe.execute()

    def get(self, task_id: str) -> TaskRecord | None:
        data = self.r.hgetall(self.keys.task(task_id))
        if not data:
            return None
        return TaskRecord.from_fields({_s(k): _s(v) for k, v in data.items()})

    def deliveries(self, task_id: str) -> list[Any]:
        return list(self.r.lrange(self.keys.deliveries(task_id), 0, -1))

    def begin_attempt(self, task_id: str) -> int:
        """Count one more run of the task; returns the attempt number (1 for the first)."""
        return int(self.r.hincrby(self.keys.task(task_id), "attempts", 1))

    def infrastructure_faults(self, task_id: str, add: int = 0) -> int:
        """Runs of the task lost to infrastructure (a worker or LibreOffice killed from outside),
        after adding `add`: they do not count against the document's retries."""
        return int(self.r.hincrby(self.keys.task(task_id), "infra_faults", add))

    def set_progress(self, task_id: str, progress: int) -> None:
        self._progress(keys=[self.keys.task(task_id)], args=[max(0, min(100, progress))])

    def finish(
        self,
        rec: TaskRecord,
        status: TaskStatus,
        *,
        code: str = "",
        message: str = "",
        result: dict[str, Any] | None = None,
        events: Sequence[OutboxEvent] = (),
        end_ts: float | None = None,
    ) -> bool:
        """Set the final status and queue `events`, once. False if it was already final."""
        args: list[Any] = [
            str(status),
            code,
            message,
            repr(end_ts if end_ts is not None else time.time()),
            100 if status == TaskStatus.SUCCEEDED else "",  # a failed task keeps its progress
            json.dumps(result or {}, ensure_ascii=False),
            len(events),
            rec.task_id,
            rec.event_id,
        ]
        for event in events:
            args += [event.destination, event.body]
        keys = [self.keys.task(rec.task_id), self.keys.outbox]
        keys += self.index.finish_keys(rec, str(status))
        done = self._finish(keys=keys, args=args)
        return bool(done)
