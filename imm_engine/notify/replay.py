"""Send a completion event again: one task's (to all or one of its destinations), or every
event that exhausted its attempts (the dead list).

A replayed event is the original: same `EventId`, byte-identical body. It re-enters the
outbox stream with its attempt count reset, so it gets the full retry schedule again, and a
`Replayed` entry is added to the task's delivery log. Copies of the same delivery waiting in
the retry set or the dead list are removed, so one replay gives one delivery chain.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import redis

from imm_engine.models import iso_time
from imm_engine.state.keys import Keys

#: Pops up to ARGV[1] dead deliveries and queues them again, atomically (none is lost).
_REPLAY_DEAD = """
local out = {}
for i = 1, tonumber(ARGV[1]) do
  local raw = redis.call('LPOP', KEYS[1])
  if not raw then break end
  local f = cjson.decode(raw)
  redis.call('XADD', KEYS[2], '*', 'task_id', f.task_id, 'event_id', f.event_id,
             'destination', f.destination, 'body', f.body, 'attempt', '0')
  out[#out + 1] = raw
end
return out
"""


def replay_task(
    client: redis.Redis,
    keys: Keys,
    *,
    task_id: str,
    event_id: str,
    body: str,
    destinations: Sequence[str],
    log_ttl_s: int,
    bodies: Mapping[str, str] | None = None,
) -> int:
    """Queue the task's event again for each of `destinations`; returns how many. `bodies`
    gives the body a destination was first sent when it differs from `body`."""
    targets = set(destinations)

    def same(raw: Any) -> bool:
        f = json.loads(raw)
        return bool(f.get("task_id") == task_id and f.get("destination") in targets)

    dead: list[Any] = [raw for raw in client.lrange(keys.outbox_dead, 0, -1) if same(raw)]
    waiting: list[Any] = [raw for raw in client.zrange(keys.outbox_retry, 0, -1) if same(raw)]
    pipe = client.pipeline(transaction=True)
    for raw in dead:
        pipe.lrem(keys.outbox_dead, 1, raw)
    for raw in waiting:
        pipe.zrem(keys.outbox_retry, raw)
    for destination in destinations:
        pipe.xadd(
            keys.outbox,
            {
                "task_id": task_id,
                "event_id": event_id,
                "destination": destination,
                "body": (bodies or {}).get(destination, body),
                "attempt": "0",
            },
        )
    _log_replays(pipe, keys, [(task_id, event_id, d) for d in destinations], log_ttl_s)
    pipe.execute()
    return len(destinations)


def replay_dead(client: redis.Redis, keys: Keys, *, log_ttl_s: int, batch: int = 500) -> int:
    """Queue every given-up delivery again; returns how many."""
    script = client.register_script(_REPLAY_DEAD)
    total = 0
    while True:
        popped: Any = script(keys=[keys.outbox_dead, keys.outbox], args=[batch])
        if not popped:
            return total
        total += len(popped)
        replays = []
        for raw in popped:
            f = json.loads(raw)
            replays.append((f["task_id"], f["event_id"], f["destination"]))
        pipe = client.pipeline(transaction=False)
        _log_replays(pipe, keys, replays, log_ttl_s)
        pipe.execute()


def _log_replays(
    pipe: Any, keys: Keys, replays: Sequence[tuple[str, str, str]], log_ttl_s: int
) -> None:
    now = iso_time(time.time())
    for task_id, event_id, destination in replays:
        entry = {
            "Time": now,
            "Destination": destination,
            "EventId": event_id,
            "Attempt": 0,
            "State": "Replayed",
            "HTTPStatus": None,
            "Error": "",
            "LatencyMs": 0,
        }
        log_key = keys.deliveries(task_id)
        pipe.rpush(log_key, json.dumps(entry))
        pipe.ltrim(log_key, -200, -1)
        pipe.expire(log_key, log_ttl_s)
