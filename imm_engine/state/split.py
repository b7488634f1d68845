"""Redis state of split tasks: the plan of page ranges, which ranges are done, which pages
are written, and the temporary PDFs to delete (workers/split/, docs/architecture.md).

A plan is written once per task (`HSETNX`-like: a second parent run finds it and does not
convert again). Each range, once all its pages are written, is added to the task's set of
done ranges in one Lua step that answers whether the set is now complete; every range run
that sees it complete calls the finishing step, which applies once (only over `Running`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import redis

from imm_engine.state.decode import text as _s
from imm_engine.state.keys import Keys

#: Pages written: add the page to the set, count them, and move the record's progress forward
#: (never backward, only while Running) to 50 + 49 * written / total.
_PAGE = """
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[3]))
local total = tonumber(ARGV[2])
if total <= 0 then return 0 end
local written = redis.call('SCARD', KEYS[2])
if redis.call('HGET', KEYS[1], 'status') ~= 'Running' then return written end
local pct = math.min(99, 50 + math.floor(49 * written / total))
local now = tonumber(redis.call('HGET', KEYS[1], 'progress') or '0') or 0
if pct > now then redis.call('HSET', KEYS[1], 'progress', pct) end
return written
"""

#: A range is done: add it to the done set; 1 when every range of the plan is done.
_RANGE_DONE = """
local ranges = tonumber(redis.call('HGET', KEYS[1], 'ranges') or '-1')
if ranges < 0 then return -1 end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]))
if redis.call('SCARD', KEYS[2]) >= ranges then return 1 end
return 0
"""

#: The plan, written only if there is none yet; 1 when written.
_PLAN = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1
"""


@dataclass(frozen=True)
class PageOut:
    """One output: document page number, 0-based PDF page index, target URI."""

    page: int
    index: int
    uri: str


@dataclass(frozen=True)
class Plan:
    task_id: str
    #: The temporary PDF (oss:// URI) every range renders from.
    pdf: str
    #: The password the PDF needs (a PDF source's own; empty for converted documents).
    password: str
    #: Pages of the whole task, for the progress.
    pages: int
    ranges: list[list[PageOut]]
    #: The task-specific fields of the completion event.
    result: dict[str, Any]
    published: bool = False


class SplitStore:
    def __init__(self, client: redis.Redis, keys: Keys, ttl_s: int) -> None:
        self.r = client
        self.keys = keys
        self.ttl_ms = ttl_s * 1000
        self._page = client.register_script(_PAGE)
        self._done = client.register_script(_RANGE_DONE)
        self._plan = client.register_script(_PLAN)

    # --- the plan ---

    def create(self, plan: Plan) -> bool:
        """Write the plan unless the task has one; True when written."""
        fields: list[Any] = [
            "pdf",
            plan.pdf,
            "password",
            plan.password,
            "pages",
            plan.pages,
            "ranges",
            len(plan.ranges),
            "result",
            json.dumps(plan.result, ensure_ascii=False),
        ]
        for k, outs in enumerate(plan.ranges):
            fields += [f"range:{k}", json.dumps([[o.page, o.index, o.uri] for o in outs])]
        return bool(
            self._plan(keys=[self.keys.split_plan(plan.task_id)], args=[self.ttl_ms, *fields])
        )

    def mark_published(self, task_id: str) -> None:
        self.r.hset(self.keys.split_plan(task_id), "published", "1")

    def get(self, task_id: str) -> Plan | None:
        data = {_s(k): _s(v) for k, v in self.r.hgetall(self.keys.split_plan(task_id)).items()}
        if "ranges" not in data:
            return None
        ranges = [
            [PageOut(int(p), int(i), str(u)) for p, i, u in json.loads(data[f"range:{k}"])]
            for k in range(int(data["ranges"]))
        ]
        return Plan(
            task_id=task_id,
            pdf=data["pdf"],
            password=data.get("password", ""),
            pages=int(data["pages"]),
            ranges=ranges,
            result=json.loads(data["result"]),
            published=data.get("published") == "1",
        )

    def range_attempt(self, task_id: str, k: int) -> int:
        """Count one more run of range `k`; the attempt number (1 for the first)."""
        return int(self.r.hincrby(self.keys.split_plan(task_id), f"attempts:{k}", 1))

    def touch(self, task_id: str) -> None:
        """Keep the plan and its temporary PDF alive while ranges still run."""
        pipe = self.r.pipeline(transaction=False)
        plan = self.keys.split_plan(task_id)
        pipe.pexpire(plan, self.ttl_ms)
        pipe.hget(plan, "pdf")
        _, pdf = pipe.execute()
        if pdf:
            self.r.zadd(
                self.keys.split_scratch, {_s(pdf): time.time() + self.ttl_ms / 1000}, xx=True
            )

    # --- progress ---

    def page_written(self, task_id: str, page: int, total: int) -> int:
        """Record document page `page` as written; returns how many are."""
        keys = [self.keys.task(task_id), self.keys.written_pages(task_id)]
        return int(self._page(keys=keys, args=[page, total, self.ttl_ms]))

    def range_done(self, task_id: str, k: int) -> bool | None:
        """Record range `k` as written; True when every range is; None without a plan."""
        keys = [self.keys.split_plan(task_id), self.keys.split_done(task_id)]
        got = int(self._done(keys=keys, args=[k, self.ttl_ms]))
        return None if got < 0 else got == 1

    def is_done(self, task_id: str, k: int) -> bool:
        return bool(self.r.sismember(self.keys.split_done(task_id), str(k)))

    def written(self, task_id: str) -> list[int]:
        """Document page numbers whose output is written, ascending."""
        return sorted(int(_s(p)) for p in self.r.smembers(self.keys.written_pages(task_id)))

    # --- the temporary PDFs ---

    def register_scratch(self, uri: str) -> None:
        self.r.zadd(self.keys.split_scratch, {uri: time.time() + self.ttl_ms / 1000})

    def expired_scratch(self, now: float, limit: int = 20) -> list[str]:
        found = self.r.zrangebyscore(self.keys.split_scratch, "-inf", now, start=0, num=limit)
        return [_s(u) for u in found if isinstance(u, bytes | str)]

    def forget_scratch(self, uri: str) -> None:
        self.r.zrem(self.keys.split_scratch, uri)

    def drop(self, task_id: str) -> None:
        """The task is final: its plan and done set go (the written pages expire)."""
        self.r.delete(self.keys.split_plan(task_id), self.keys.split_done(task_id))


def page_ranges(pages: list[int]) -> str:
    """`[1, 2, 3, 5, 7, 8]` -> `"1-3,5,7-8"`."""
    parts: list[str] = []
    start = prev = None
    for p in pages:
        if start is None:
            start = prev = p
        elif prev is not None and p == prev + 1:
            prev = p
        else:
            parts.append(f"{start}-{prev}" if start != prev else f"{start}")
            start = prev = p
    if start is not None:
        parts.append(f"{start}-{prev}" if start != prev else f"{start}")
    return ",".join(parts)
