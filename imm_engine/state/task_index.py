"""The ListTasks indexes of a project, and reading pages through them.

Every task of a project is in three families of sorted sets, one per ListTasks sort:

- `id`: every score 0, members in TaskId order (`Sort=TaskId`, IMM's default);
- `start`: scored by start time in ms (`Sort=StartTime`; its "all" set is the project index);
- `end`: scored by end time in ms; a running task is scored `RUNNING_BASE + start ms`, so it
  sorts after every finished task, in start order (`Sort=EndTime`).

Each family has one set of all the project's tasks, one per task type (`type:<TaskType>`), one
per status (`status:<Status>`), and, for each tag a task has, one per tag key (`tagkey:<key>`,
for TagSelector's `key`) and one per tag key and value (`tag:["key","value"]`, the value as
TagSelector compares it, for `key=value`). `TaskStore.create` adds a task to all its sets in the
same transaction as its record; the finish script moves it from the Running sets to those of its
final status and sets its end score, in the same step as the final status. A page is read by
walking the smallest set that covers a filter (a status, a single task type, a tag key or a tag
value, else all; `!key` and `key!=value` cannot narrow) in rank order, reading each candidate's
record and keeping those that pass every filter: the record decides, the index only narrows. An
id whose record is gone is skipped.

Records expire `task_ttl` after their start; the index entries of expired tasks are removed
when the project is next listed (`trim`: every id scored below the cutoff in the start index,
removed from all nine sets of its type and, through the project's `tags` hash that keeps each
tagged task's tags past its record, from its tag sets), and every set expires with its newest
record. Tasks created before tags were indexed are added to the tag sets by the project's first
TagSelector listing (`tags_ready`), once.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from imm_engine.models import TaskRecord, TaskStatus
from imm_engine.state.decode import text as _s
from imm_engine.state.keys import Keys
from imm_engine.state.query import Cursor, TagCondition, TaskQuery, tag_text

FAMILIES = ("id", "start", "end")
SORT_FAMILY = {"TaskId": "id", "StartTime": "start", "EndTime": "end"}
STATUSES = (TaskStatus.RUNNING, TaskStatus.SUCCEEDED, TaskStatus.FAILED)
#: End score of a running task: above every real end time in ms (until the year 33658).
RUNNING_BASE = 10**15
TRIM_BATCH = 1000
BACKFILL_BATCH = 1000
#: Seconds a tag backfill holds its lease without finishing a batch before another may start.
WALK_LEASE_S = 120
TRIM_MAX_BATCHES = 20
#: Slack of the script's time checks (seconds): it only has to keep every possible match;
#: the exact check (in whole microseconds) is `TaskQuery.matches`.
_SLACK = 0.001

#: The positions (1-based) of KEYS (task records) that may pass the filters in ARGV:
#: [1] status or "", [2] task types joined by newlines or "", [3..6] start lo, start hi,
#: end lo, end hi in seconds or "", [7] not-before in seconds, [8] "1" if an end time is
#: required, [9] the number of tag conditions, then for each: a count and that many texts of
#: which the stored tags JSON must contain one.
PREFILTER = """
local want_types = {}
local any_type = ARGV[2] == ''
for t in string.gmatch(ARGV[2], '[^\\n]+') do want_types[t] = true end
local function num(i) if ARGV[i] == '' then return nil end return tonumber(ARGV[i]) end
local slo, shi, elo, ehi, nb = num(3), num(4), num(5), num(6), tonumber(ARGV[7])
local need_end = ARGV[8] == '1'
local nconds = tonumber(ARGV[9])
local out = {}
for k = 1, #KEYS do
  local v = redis.call('HMGET', KEYS[k], 'task_type', 'status', 'start_ts', 'end_ts', 'tags')
  local ok = v[1] and v[2]
  if ok and ARGV[1] ~= '' and v[2] ~= ARGV[1] then ok = false end
  if ok and not any_type and not want_types[v[1]] then ok = false end
  if ok then
    local st = tonumber(v[3] or '0') or 0
    local en = tonumber(v[4] or '0') or 0
    if st < nb then ok = false end
    if ok and slo and st < slo then ok = false end
    if ok and shi and st > shi then ok = false end
    if ok and need_end and en == 0 then ok = false end
    if ok and elo and en < elo then ok = false end
    if ok and ehi and en > ehi then ok = false end
  end
  if ok and nconds > 0 then
    local tags = v[5] or ''
    local i = 10
    for c = 1, nconds do
      local n = tonumber(ARGV[i])
      local found = n == 0
      for j = 1, n do
        if not found and string.find(tags, ARGV[i + j], 1, true) then found = true end
      end
      i = i + n + 1
      if not found then ok = false break end
    end
  end
  if ok then out[#out + 1] = k end
end
return out
"""
MAX_CHUNK = 1000

#: Extends each key's time to live to at least ARGV[1] ms; never shortens it.
EXTEND_TTL = """
local want = tonumber(ARGV[1])
for i = 1, #KEYS do
  local ttl = redis.call('PTTL', KEYS[i])
  if ttl == -1 or (ttl >= 0 and ttl < want) then redis.call('PEXPIRE', KEYS[i], want) end
end
return 1
"""


def start_ms(ts: float) -> int:
    return math.floor(ts * 1000)


def end_score(rec: TaskRecord) -> int:
    return start_ms(rec.end_ts) if rec.end_ts else RUNNING_BASE + start_ms(rec.start_ts)


def type_of(task_id: str) -> str:
    """TaskIds are `<TaskType>-<uuid>`."""
    return task_id.split("-", 1)[0]


@dataclass(frozen=True)
class Page:
    records: list[TaskRecord]
    next_token_cursor: Cursor | None


class TaskIndex:
    def __init__(self, client: redis.Redis, keys: Keys, ttl_s: int) -> None:
        #: Any: redis-py's return types are unions that every call would have to narrow.
        self.r: Any = client
        self.keys = keys
        self.ttl_s = ttl_s
        self.extend_ttl = client.register_script(EXTEND_TTL)
        self.prefilter = client.register_script(PREFILTER)
        #: Projects whose tasks are all in the tag sets (tags_ready), as seen by this process.
        self._tags_ready: set[str] = set()

    # --- keys ---------------------------------------------------------------------------

    def key(self, project: str, family: str, dimension: str = "", value: str = "") -> str:
        return self.keys.task_list_index(project, family, dimension, value)

    def keys_of(self, project: str, task_type: str) -> list[str]:
        """Every set a task of this type can be in (all statuses)."""
        out = []
        for family in FAMILIES:
            out.append(self.key(project, family))
            out.append(self.key(project, family, "type", task_type))
            out.extend(self.key(project, family, "status", s) for s in STATUSES)
        return out

    def tag_keys(self, project: str, tags: dict[str, Any], families: Sequence[str]) -> list[str]:
        """The tag sets of a task with these tags, in these families."""
        out = []
        for family in families:
            for name, value in tags.items():
                out.append(self.key(project, family, "tagkey", name))
                out.append(self.key(project, family, "tag", tag_member(name, tag_text(value))))
        return out

    def finish_keys(self, rec: TaskRecord, status: str) -> list[str]:
        """KEYS[3..] of the finish script (imm_engine/state/store.py `_FINISH`)."""
        p = rec.project
        running = [self.key(p, f, "status", TaskStatus.RUNNING) for f in ("id", "start", "end")]
        final = [self.key(p, f, "status", status) for f in ("id", "start", "end")]
        ends = [self.key(p, "end"), self.key(p, "end", "type", rec.task_type)]
        return [*running, *final, *ends, *self.tag_keys(p, rec.tags, ("end",))]

    # --- writing ------------------------------------------------------------------------

    def entries(self, rec: TaskRecord) -> list[tuple[str, int]]:
        """(sorted set, score) of every index entry of `rec` in its current state."""
        scores = {"id": 0, "start": start_ms(rec.start_ts), "end": end_score(rec)}
        out = []
        for family, score in scores.items():
            for key in (
                self.key(rec.project, family),
                self.key(rec.project, family, "type", rec.task_type),
                self.key(rec.project, family, "status", rec.status),
                *self.tag_keys(rec.project, rec.tags, (family,)),
            ):
                out.append((key, score))
        return out

    def add(self, pipe: Any, rec: TaskRecord) -> None:
        """Queue on `pipe` the commands that index `rec` in its current state."""
        written = []
        for key, score in self.entries(rec):
            pipe.zadd(key, {rec.task_id: score})
            written.append(key)
        if rec.tags:
            tags_key = self.keys.task_tags(rec.project)
            pipe.hset(tags_key, rec.task_id, json.dumps(rec.tags, ensure_ascii=False))
            written.append(tags_key)
        ttl_ms = math.ceil((rec.start_ts + self.ttl_s) * 1000 - _now_ms())
        if ttl_ms > 0:
            self.extend_ttl(keys=written, args=[ttl_ms], client=pipe)

    def remove(
        self,
        pipe: Any,
        project: str,
        task_ids: Sequence[str],
        tags: Sequence[dict[str, Any] | None] = (),
    ) -> None:
        """Queue on `pipe` the removal of the tasks from every set; `tags[i]` are the tags of
        `task_ids[i]` (None: read from the project's tags hash by the caller)."""
        by_type: dict[str, list[str]] = {}
        for task_id in task_ids:
            by_type.setdefault(type_of(task_id), []).append(task_id)
        for task_type, ids in by_type.items():
            for key in self.keys_of(project, task_type):
                pipe.zrem(key, *ids)
        by_key: dict[str, list[str]] = {}
        for task_id, task_tags in zip(task_ids, tags, strict=False):
            for key in self.tag_keys(project, task_tags or {}, FAMILIES):
                by_key.setdefault(key, []).append(task_id)
        for key, ids in by_key.items():
            pipe.zrem(key, *ids)
        if task_ids:
            pipe.hdel(self.keys.task_tags(project), *task_ids)

    def stored_tags(self, project: str, task_ids: Sequence[str]) -> list[dict[str, Any] | None]:
        """The tags kept for these tasks in the project's tags hash (None: untagged)."""
        if not task_ids:
            return []
        raw = self.r.hmget(self.keys.task_tags(project), list(task_ids))
        out: list[dict[str, Any] | None] = []
        for value in raw:
            try:
                decoded = json.loads(value) if value else None
            except ValueError:
                decoded = None
            out.append(decoded if isinstance(decoded, dict) else None)
        return out

    def trim(self, project: str, now: float) -> int:
        """Remove the entries of tasks that started more than `ttl` ago; returns how many.

        At most TRIM_MAX_BATCHES batches a call, so that no call waits long; what is left is
        removed by the next (a listing skips tasks whose records expired in any case).
        """
        cutoff = start_ms(now - self.ttl_s)
        start_all = self.key(project, "start")
        removed = 0
        for _ in range(TRIM_MAX_BATCHES):
            raw = self.r.zrangebyscore(start_all, "-inf", f"({cutoff}", start=0, num=TRIM_BATCH)
            ids = [_s(m) for m in raw]
            if not ids:
                return removed
            pipe = self.r.pipeline(transaction=True)
            self.remove(pipe, project, ids, self.stored_tags(project, ids))
            pipe.execute()
            removed += len(ids)
            if len(ids) < TRIM_BATCH:
                return removed
        return removed

    def drop_project(self, project: str, task_types: Sequence[str]) -> None:
        """Delete the project's index sets (DeleteProject); those of other types expire."""
        names = {k for t in task_types for k in self.keys_of(project, t)}
        tags_key = self.keys.task_tags(project)
        for _, value in self.r.hscan_iter(tags_key, count=1000):
            try:
                tags = json.loads(value)
            except ValueError:
                continue
            if isinstance(tags, dict):
                names.update(self.tag_keys(project, tags, FAMILIES))
        names.update((tags_key, self.keys.task_tags_ready(project)))
        names_list = sorted(names)
        for i in range(0, len(names_list), 1000):
            self.r.delete(*names_list[i : i + 1000])
        self._tags_ready.discard(project)

    def tags_ready(self, project: str) -> bool:
        """Whether every task of the project is in the tag sets. The first call for a project
        written by an older version adds its tasks (`backfill_tags`) and answers True; a call
        while another process does that answers False (the page is then read without the tag
        sets: slower, never wrong)."""
        if project in self._tags_ready:
            return True
        ready_key = self.keys.task_tags_ready(project)
        if not self.r.exists(ready_key):
            walk_key = self.keys.task_tags_walk(project)
            if not self.r.set(walk_key, "1", nx=True, ex=WALK_LEASE_S):
                return False
            try:
                self.backfill_tags(project, walk_key)
                self.r.set(ready_key, "1")
            finally:
                self.r.delete(walk_key)
        self._tags_ready.add(project)
        return True

    def backfill_tags(self, project: str, lease_key: str = "") -> int:
        """Add every tagged task of the project to its tag sets and the tags hash; returns
        how many. ZADD NX: an entry written meanwhile by a create or a finish is newer, and
        kept. `lease_key` is extended after each batch."""
        start_all = self.key(project, "start")
        seen = 0
        pos = 0
        while True:
            ids = [_s(m) for m in self.r.zrange(start_all, pos, pos + BACKFILL_BATCH - 1)]
            if not ids:
                break
            pipe = self.r.pipeline(transaction=False)
            for task_id in ids:
                pipe.hmget(self.keys.task(task_id), ["start_ts", "end_ts", "tags"])
            writes = self.r.pipeline(transaction=False)
            for task_id, (start, end, tags_json) in zip(ids, pipe.execute(), strict=True):
                tags = json.loads(tags_json) if tags_json else {}
                if not isinstance(tags, dict) or not tags:
                    continue
                seen += 1
                start_ts = float(start or 0)
                end_ts = float(end or 0)
                scores = {
                    "id": 0,
                    "start": start_ms(start_ts),
                    "end": start_ms(end_ts) if end_ts else RUNNING_BASE + start_ms(start_ts),
                }
                for family, score in scores.items():
                    for key in self.tag_keys(project, tags, (family,)):
                        writes.zadd(key, {task_id: score}, nx=True)
                writes.hsetnx(self.keys.task_tags(project), task_id, _s(tags_json))
            if lease_key:
                writes.expire(lease_key, WALK_LEASE_S)
            writes.execute()
            pos += len(ids)
            if len(ids) < BACKFILL_BATCH:
                break
        return seen

    # --- reading ------------------------------------------------------------------------

    def page(self, project: str, query: TaskQuery, not_before: float = 0.0) -> Page:
        """One page of `query`, of tasks that started at or after `not_before`."""
        family = SORT_FAMILY[query.sort]
        use_tags = any(c.op in ("eq", "has") for c in query.tags) and self.tags_ready(project)
        key = self._narrowest(project, family, query, use_tags)
        lo, hi = _bounds(family, query, not_before)
        wanted = query.max_results + 1  # one more, to know whether there is a next page
        found: list[tuple[TaskRecord, float]] = []
        chunk = max(wanted, 16)
        ids: list[tuple[str, float]] = []
        for member, score in self._walk(key, family, query.order, lo, hi, query.cursor, chunk):
            ids.append((member, score))
            if len(ids) >= chunk:
                found += self._matching(ids, query, not_before)
                ids = []
                if len(found) >= wanted:
                    break
                chunk = min(chunk * 2, MAX_CHUNK)
        if ids and len(found) < wanted:
            found += self._matching(ids, query, not_before)
        records = found[: query.max_results]
        cursor = None
        if len(found) > query.max_results:
            last, score = records[-1]
            cursor = Cursor(query.sort, query.order, score, last.task_id, query.digest)
        return Page([rec for rec, _ in records], cursor)

    def _narrowest(self, project: str, family: str, query: TaskQuery, use_tags: bool = True) -> str:
        """The smallest set that holds every task the filters can match."""
        covering = []
        if query.status is not None:
            covering.append(self.key(project, family, "status", query.status))
        if query.task_types is not None and len(query.task_types) == 1:
            covering.append(self.key(project, family, "type", next(iter(query.task_types))))
        for cond in query.tags if use_tags else ():
            if cond.op == "eq":
                covering.append(self.key(project, family, "tag", tag_member(cond.key, cond.value)))
            elif cond.op == "has":
                covering.append(self.key(project, family, "tagkey", cond.key))
        if not covering:
            return self.key(project, family)
        if len(covering) == 1:
            return covering[0]
        pipe = self.r.pipeline(transaction=False)
        for key in covering:
            pipe.zcard(key)
        sizes: list[int] = [int(n) for n in pipe.execute()]
        return covering[sizes.index(min(sizes))]

    def _matching(
        self, ids: list[tuple[str, float]], query: TaskQuery, not_before: float
    ) -> list[tuple[TaskRecord, float]]:
        """The candidates that pass every filter.

        A script first drops, inside Redis, the candidates that cannot pass (wrong type,
        status or time, or tags lacking a required `"key": value` text), so a scan sends back
        only likely matches; those are read whole and checked exactly here.
        """
        task_keys = [self.keys.task(task_id) for task_id, _ in ids]
        kept = self.prefilter(keys=task_keys, args=_prefilter_args(query, not_before))
        passing = [ids[int(i) - 1] for i in kept]
        if not passing:
            return []
        pipe = self.r.pipeline(transaction=False)
        for task_id, _ in passing:
            pipe.hgetall(self.keys.task(task_id))
        out = []
        for (_, score), data in zip(passing, pipe.execute(), strict=True):
            if not data:
                continue  # expired or removed since it was indexed
            rec = TaskRecord.from_fields({_s(k): _s(v) for k, v in data.items()})
            if rec.start_ts >= not_before and query.matches(
                rec.task_type, rec.status, rec.start_ts, rec.end_ts, rec.tags
            ):
                out.append((rec, score))
        return out

    def _walk(
        self,
        key: str,
        family: str,
        order: str,
        lo: float | None,
        hi: float | None,
        cursor: Cursor | None,
        chunk: int,
    ) -> Iterator[tuple[str, float]]:
        """Members of `key` after `cursor`, in order, with scores within [lo, hi]."""
        desc = order == "desc"
        pos = self._first_rank(key, family, desc, lo, hi, cursor)
        size = chunk
        while True:
            if desc:
                batch = self.r.zrevrange(key, pos, pos + size - 1, withscores=True)
            else:
                batch = self.r.zrange(key, pos, pos + size - 1, withscores=True)
            if not batch:
                return
            for raw, score in batch:
                if (desc and lo is not None and score < lo) or (
                    not desc and hi is not None and score > hi
                ):
                    return
                yield _s(raw), float(score)
            if len(batch) < size:
                return
            last = batch[-1][0]
            rank = self.r.zrevrank(key, last) if desc else self.r.zrank(key, last)
            pos = (int(rank) if rank is not None else pos + len(batch) - 1) + 1
            size = min(size * 2, MAX_CHUNK)

    def _first_rank(
        self,
        key: str,
        family: str,
        desc: bool,
        lo: float | None,
        hi: float | None,
        cursor: Cursor | None,
    ) -> int:
        """The rank (in walking order) of the first member to look at."""
        pos = 0
        if desc and hi is not None:
            pos = int(self.r.zcount(key, f"({_num(hi)}", "+inf"))
        elif not desc and lo is not None:
            pos = int(self.r.zcount(key, "-inf", f"({_num(lo)}"))
        if cursor is None:
            return pos
        rank = self.r.zrevrank(key, cursor.task_id) if desc else self.r.zrank(key, cursor.task_id)
        if rank is not None:
            return max(pos, int(rank) + 1)
        # The last task of the previous page left this set (it finished, or expired): count
        # what sorts before or at its position instead.
        if family == "id":
            if desc:
                return max(pos, int(self.r.zlexcount(key, f"[{cursor.task_id}", "+")))
            return max(pos, int(self.r.zlexcount(key, "-", f"[{cursor.task_id}")))
        score = _num(cursor.score)
        if desc:
            before = int(self.r.zcount(key, f"({score}", "+inf"))
            ties = self.r.zrangebyscore(key, score, score)
            before += sum(1 for m in ties if _s(m) >= cursor.task_id)
        else:
            before = int(self.r.zcount(key, "-inf", f"({score}"))
            ties = self.r.zrangebyscore(key, score, score)
            before += sum(1 for m in ties if _s(m) <= cursor.task_id)
        return max(pos, before)


def tag_member(key: str, value_text: str) -> str:
    """The `value` part of a tag value set's name: a JSON pair, so any key and value fit."""
    return json.dumps([key, value_text], ensure_ascii=False, separators=(",", ":"))


def _prefilter_args(query: TaskQuery, not_before: float) -> list[str]:
    def bound(value: float | None, slack: float) -> str:
        return "" if value is None else repr(value + slack)

    start = query.start_range
    end = query.end_range
    args = [
        query.status or "",
        "\n".join(sorted(query.task_types)) if query.task_types is not None else "",
        bound(start.start if start else None, -_SLACK),
        bound(start.end if start else None, _SLACK),
        bound(end.start if end else None, -_SLACK),
        bound(end.end if end else None, _SLACK),
        repr(not_before - _SLACK if not_before else float("-inf")),
        "1" if end is not None else "0",
    ]
    conditions = [stored_fragments(c) for c in query.tags]
    conditions = [c for c in conditions if c]
    args.append(str(len(conditions)))
    for alternatives in conditions:
        args += [str(len(alternatives)), *alternatives]
    return args


def stored_fragments(cond: TagCondition) -> list[str]:
    """Texts one of which a record's stored tags (TaskRecord.to_fields: `json.dumps`) must
    contain for `cond` to hold; [] when the condition cannot be checked that way."""
    key = json.dumps(cond.key, ensure_ascii=False)
    if cond.op == "has":
        return [f"{key}: "]
    if cond.op != "eq":
        return []
    texts = [f"{key}: {json.dumps(cond.value, ensure_ascii=False)}"]  # a string tag
    try:
        literal = json.loads(cond.value)
    except ValueError:
        return texts
    if isinstance(literal, list | dict):
        # Stored with other separators than TagSelector compares with: check the key only.
        return [f"{key}: "]
    if not isinstance(literal, str):
        texts.append(f"{key}: {cond.value}")  # a number, true, false or null
    return texts


def _bounds(family: str, query: TaskQuery, not_before: float) -> tuple[float | None, float | None]:
    """Score bounds of the walk that the filters imply (inclusive)."""
    if family == "start":
        lo = start_ms(not_before) if not_before else None
        rng = query.start_range
        if rng is not None and rng.start is not None:
            lo = max(lo or 0, start_ms(rng.start))
        hi = start_ms(rng.end) if rng is not None and rng.end is not None else None
        return lo, hi
    if family == "end" and query.end_range is not None:
        rng = query.end_range
        lo = start_ms(rng.start) if rng.start is not None else None
        hi = start_ms(rng.end) if rng.end is not None else RUNNING_BASE - 1
        return lo, hi
    return None, None


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _now_ms() -> float:
    return time.time() * 1000
