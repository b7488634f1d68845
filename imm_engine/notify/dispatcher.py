"""Delivers queued completion events, at least once.

Events enter the outbox stream in the same Lua call that finishes the task
(imm_engine/state/store.py). Dispatchers read it through one consumer group, so each entry
goes to one dispatcher; an entry is acknowledged only after it was delivered, scheduled for
a retry, or given up on. Entries left pending by a dispatcher that died are claimed by
another after `claim_idle_s`. Failed deliveries wait in a sorted set scored by their due
time and re-enter the stream when due. Every attempt is logged on the task
(`<prefix>:task:<id>:deliveries`); entries that exhaust their attempts go to a dead list.

Notified means durable: with `durable_replicas` (IMM_REDIS_WAIT_REPLICAS, 1 on Sentinel) a
batch is delivered only once that many replicas hold everything written before it was read,
the task's final record included (WAIT). Otherwise a failover right after a delivery could
bring back a master on which the task is still Running: the client would have been told
Succeeded while GetTask says Running until the task ran again. A batch the replicas do not
confirm in time is held and tried again; if the master dies meanwhile, the events die with
the records they describe, and the tasks run and notify again on the new master.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis

from imm_engine.metrics import registry as metrics
from imm_engine.models import iso_time
from imm_engine.notify.backoff import next_delay
from imm_engine.notify.routes import Routes
from imm_engine.notify.senders import default_senders, used_kinds
from imm_engine.notify.senders.base import Outcome, Sender
from imm_engine.state.decode import text as _s
from imm_engine.state.keys import Keys

log = logging.getLogger("imm_engine.notify")

_PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  local f = cjson.decode(member)
  redis.call('XADD', KEYS[2], '*', 'task_id', f.task_id, 'event_id', f.event_id,
             'destination', f.destination, 'body', f.body, 'attempt', f.attempt)
end
return #due
"""


class Dispatcher:
    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        routes: Routes,
        *,
        max_attempts: int,
        max_backoff_s: float,
        log_ttl_s: int,
        threads: int = 16,
        senders: dict[str, Sender] | None = None,
        durable_replicas: int = 0,
        wait_timeout_ms: int = 1000,
    ) -> None:
        self.r = client
        self.keys = keys
        self.routes = routes
        self.destinations = {d.name: d for ds in routes.by_key.values() for d in ds}
        self.max_attempts = max_attempts
        self.max_backoff_s = max_backoff_s
        self.log_ttl_s = log_ttl_s
        self.threads = threads
        self.durable_replicas = durable_replicas
        self.wait_timeout_ms = wait_timeout_ms
        #: Entries read but not yet confirmed on the replicas (delivered once they are).
        self._held: list[tuple[str, dict[str, str]]] = []
        self.senders: dict[str, Sender] = senders or default_senders(
            used_kinds(routes), client, keys
        )
        self.consumer = f"{socket.gethostname()}-{os.getpid()}"
        longest = max((d.timeout_s for d in self.destinations.values()), default=5.0)
        self.claim_idle_s = longest + 30
        self._promote = client.register_script(_PROMOTE)
        self._busy = 0
        self._lock = threading.Lock()
        #: Deliveries in flight per destination: a hanging receiver may hold at most half the
        #: threads; its further events wait (not an attempt) so the others keep flowing.
        self.per_destination = max(1, threads // 2)
        self._inflight: dict[str, int] = {}

    def ensure_group(self) -> None:
        try:
            self.r.xgroup_create(self.keys.outbox, self.keys.outbox_group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def run(self, stop: threading.Event) -> None:
        self.ensure_group()
        log.info(
            "notification dispatcher %s started (%d destinations)",
            self.consumer,
            len(self.destinations),
        )
        last_claim = 0.0
        with ThreadPoolExecutor(self.threads, thread_name_prefix="deliver") as pool:
            while not stop.is_set():
                try:
                    self._promote(
                        keys=[self.keys.outbox_retry, self.keys.outbox], args=[time.time()]
                    )
                    entries, self._held = self._held, []
                    if time.monotonic() - last_claim > 10:
                        entries += self._claim_stale()
                        last_claim = time.monotonic()
                    free = self.threads - self._busy - len(entries)
                    if free > 0:
                        entries += self._read(free)
                    else:
                        stop.wait(0.05)
                    self._held = entries  # kept if Redis fails before they are handed out
                    if entries and not self._replicated():
                        continue
                    self._held = []
                    for entry_id, fields in entries:
                        dest = fields.get("destination", "")
                        with self._lock:
                            full = self._inflight.get(dest, 0) >= self.per_destination
                            if not full:
                                self._busy += 1
                                self._inflight[dest] = self._inflight.get(dest, 0) + 1
                        if full:
                            self._defer(entry_id, fields)
                        else:
                            pool.submit(self._deliver_guarded, entry_id, fields)
                except redis.RedisError as exc:
                    log.warning("dispatcher: redis unavailable (%s); retrying", exc)
                    stop.wait(1.0)
                    with contextlib.suppress(redis.RedisError):
                        self.ensure_group()
        log.info("notification dispatcher %s stopped", self.consumer)

    def _replicated(self) -> bool:
        """Whether `durable_replicas` replicas hold everything written so far. WAIT counts the
        replicas that acknowledged this connection's last write, so the pipeline writes first
        (after the entries were read, so after the records they describe were finished)."""
        if self.durable_replicas <= 0:
            return True
        pipe = self.r.pipeline(transaction=False)
        pipe.set(self.keys.outbox_probe, self.consumer, ex=60)
        pipe.execute_command("WAIT", self.durable_replicas, self.wait_timeout_ms)
        acked = int(pipe.execute()[1])
        if acked < self.durable_replicas:
            log.warning(
                "dispatcher: %d of %d replicas confirmed within %d ms; deliveries held",
                acked,
                self.durable_replicas,
                self.wait_timeout_ms,
            )
            return False
        return True

    def _read(self, count: int) -> list[tuple[str, dict[str, str]]]:
        reply: Any = self.r.xreadgroup(
            self.keys.outbox_group, self.consumer, {self.keys.outbox: ">"}, count=count, block=200
        )
        out = []
        for _stream, items in reply or []:
            for entry_id, fields in items:
                out.append((_s(entry_id), {_s(k): _s(v) for k, v in fields.items()}))
        return out

    def _claim_stale(self) -> list[tuple[str, dict[str, str]]]:
        reply: Any = self.r.xautoclaim(
            self.keys.outbox,
            self.keys.outbox_group,
            self.consumer,
            min_idle_time=int(self.claim_idle_s * 1000),
            start_id="0-0",
            count=self.threads,
        )
        items = reply[1] if reply else []
        out = []
        for entry_id, fields in items:
            if fields:
                out.append((_s(entry_id), {_s(k): _s(v) for k, v in fields.items()}))
        if out:
            log.info("dispatcher: claimed %d deliveries left by a stopped dispatcher", len(out))
        return out

    def _deliver_guarded(self, entry_id: str, fields: dict[str, str]) -> None:
        try:
            self.deliver(entry_id, fields)
        except Exception:  # a bug here must not kill the thread pool; the entry stays pending
            log.exception("dispatcher: delivery of %s failed unexpectedly", entry_id)
        finally:
            with self._lock:
                self._busy -= 1
                self._inflight[fields.get("destination", "")] -= 1

    def _defer(self, entry_id: str, fields: dict[str, str], delay_s: float = 0.5) -> None:
        """Put an entry back for later without attempting it (its destination is busy)."""
        pipe = self.r.pipeline(transaction=True)
        pipe.zadd(self.keys.outbox_retry, {json.dumps(fields): time.time() + delay_s})
        pipe.xack(self.keys.outbox, self.keys.outbox_group, entry_id)
        pipe.xdel(self.keys.outbox, entry_id)
        pipe.execute()

    def deliver(self, entry_id: str, fields: dict[str, str]) -> None:
        attempt = int(fields.get("attempt", "0")) + 1
        dest = self.routes.find(fields["destination"])
        if dest is None:
            outcome = Outcome(False, error="destination no longer configured", permanent=True)
        else:
            sender = self.senders.get(dest.type)
            if sender is None:
                outcome = Outcome(False, error=f"no sender for {dest.type}", permanent=True)
            else:
                outcome = sender.send(
                    dest, fields["body"].encode(), fields["event_id"], fields["task_id"], attempt
                )
        self._settle(entry_id, fields, attempt, outcome)

    def _settle(
        self, entry_id: str, fields: dict[str, str], attempt: int, outcome: Outcome
    ) -> None:
        task_id = fields["task_id"]
        give_up = not outcome.ok and (outcome.permanent or attempt >= self.max_attempts)
        state = "Delivered" if outcome.ok else "GaveUp" if give_up else "Failed"
        entry: dict[str, Any] = {
            "Time": iso_time(time.time()),
            "Destination": fields["destination"],
            "EventId": fields["event_id"],
            "Attempt": attempt,
            "State": state,
            "HTTPStatus": outcome.status,
            "Error": outcome.error,
            "LatencyMs": outcome.elapsed_ms,
        }
        pipe = self.r.pipeline(transaction=True)
        log_key = self.keys.deliveries(task_id)
        pipe.rpush(log_key, json.dumps(entry))
        pipe.ltrim(log_key, -200, -1)
        pipe.expire(log_key, self.log_ttl_s)
        pipe.set(self.keys.task_event(task_id), fields["body"], ex=self.log_ttl_s, nx=True)
        bodies = self.keys.task_event_bodies(task_id)
        pipe.hsetnx(bodies, fields["destination"], fields["body"])
        pipe.expire(bodies, self.log_ttl_s)
        if not outcome.ok:
            retry = {**fields, "attempt": str(attempt)}
            if give_up:
                pipe.rpush(self.keys.outbox_dead, json.dumps({**retry, "error": outcome.error}))
            else:
                due = time.time() + next_delay(attempt, self.max_backoff_s)
                pipe.zadd(self.keys.outbox_retry, {json.dumps(retry): due})
        pipe.xack(self.keys.outbox, self.keys.outbox_group, entry_id)
        pipe.xdel(self.keys.outbox, entry_id)
        pipe.execute()
        dest = self.routes.find(fields["destination"])
        metrics.delivery(
            dest.type if dest is not None else "unknown", state, (outcome.elapsed_ms or 0) / 1000
        )
        level = logging.INFO if outcome.ok else logging.WARNING
        log.log(
            level,
            "event %s of %s -> %s: %s %s",
            fields["event_id"],
            task_id,
            fields["destination"],
            state,
            outcome.error,
        )
