"""Task records in Redis.

A record is a hash that expires `task_ttl` after the task started (IMM keeps task information
7 days from start). Finishing a task is one Lua call that sets the final status only if the
record is still Running and, in the same step, queues the completion event for every
destination in the outbox stream: a finished task always has its events queued, and a task
that is run twice (a redelivered message) finishes, and notifies, once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis

from imm_engine.models import TaskRecord, TaskStatus
from imm_engine.state.keys import Keys

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
return 1
"""

_PROGRESS = """
if redis.call('HGET', KEYS[1], 'status') ~= 'Running' then return 0 end
redis.call('HSET', KEYS[1], 'progress', ARGV[1])
return 1
"""


@dataclass(frozen=True)
class OutboxEvent:
    destination: str
    body: str


class TaskStore:
    def __init__(self, client: redis.Redis, keys: Keys, ttl_s: int) -> None:
        self.r = client
        self.keys = keys
        self.ttl_s = ttl_s
        self._finish = client.register_script(_FINISH)
        self._progress = client.register_script(_PROGRESS)

    def create(self, rec: TaskRecord) -> None:
        key = self.keys.task(rec.task_id)
        expire_at = int(rec.start_ts + self.ttl_s)
        index = self.keys.project_index(rec.project)
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(key, mapping=dict(rec.to_fields()))  # type: ignore[arg-type]
        pipe.expireat(key, expire_at)
        pipe.zadd(index, {rec.task_id: int(rec.start_ts * 1000)})
        pipe.expireat(index, expire_at)
        pipe.execute()

    def delete(self, rec: TaskRecord) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.delete(self.keys.task(rec.task_id))
        pipe.zrem(self.keys.project_index(rec.project), rec.task_id)
        pipe.execute()

    def get(self, task_id: str) -> TaskRecord | None:
        data = self.r.hgetall(self.keys.task(task_id))
        if not data:
            return None
        return TaskRecord.from_fields({_s(k): _s(v) for k, v in data.items()})

    def begin_attempt(self, task_id: str) -> int:
        """Count one more run of the task; returns the attempt number (1 for the first)."""
        return int(self.r.hincrby(self.keys.task(task_id), "attempts", 1))

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
        done = self._finish(keys=[self.keys.task(rec.task_id), self.keys.outbox], args=args)
        return bool(done)


def _s(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value
