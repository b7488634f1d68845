"""Task records and projects in memory, for the API's unit tests where Redis adds nothing.

They implement the Protocols the API is written against (`TaskRecords` next to TaskStore,
`ProjectRecords` next to ProjectStore) and behave as the Redis stores do for those calls:
records round-trip through the same flat fields, expire at the same whole second
(`EXPIREAT start + ttl`), finish once, and list in the same order with the same page tokens.
tests/integration/test_task_records_contract.py runs one set of assertions against both, so
this copy cannot drift from the real one.

Kept in tests/ rather than imm_engine/: the service cannot run without Redis (it is the Celery
broker and the notification outbox too), so nothing but the tests has a use for it.

Not modelled: the imm-engine extensions kept in Redis beside the records (completion events to
replay, split pages written, 2017 idempotency keys; `redis_store` refuses this store), and the
rank a Redis page walk resumes from when the last task of the previous page changed its score
in between (here the walk resumes after the score the page token holds).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from imm_engine.models import TaskRecord, TaskStatus
from imm_engine.state.projects import Project
from imm_engine.state.query import Cursor, TaskQuery
from imm_engine.state.store import NotDurable, OutboxEvent
from imm_engine.state.task_index import SORT_FAMILY, Page, end_score, start_ms


class MemoryTaskListing:
    """The ListTasks indexes: per project, the ids of its tasks and their start scores."""

    def __init__(self, store: MemoryTaskStore) -> None:
        self._store = store
        self._ids: dict[str, dict[str, int]] = {}

    def add(self, rec: TaskRecord) -> None:
        self._ids.setdefault(rec.project, {})[rec.task_id] = start_ms(rec.start_ts)

    def remove(self, project: str, task_id: str) -> None:
        self._ids.get(project, {}).pop(task_id, None)

    def trim(self, project: str, now: float) -> int:
        cutoff = start_ms(now - self._store.ttl_s)
        ids = self._ids.get(project, {})
        old = [task_id for task_id, score in ids.items() if score < cutoff]
        for task_id in old:
            del ids[task_id]
        return len(old)

    def drop_project(self, project: str, task_types: Sequence[str]) -> None:
        self._ids.pop(project, None)

    def page(self, project: str, query: TaskQuery, not_before: float = 0.0) -> Page:
        family = SORT_FAMILY[query.sort]
        desc = query.order == "desc"
        rows: list[tuple[float, str, TaskRecord]] = []
        for task_id in self._ids.get(project, {}):
            rec = self._store.get(task_id)
            if rec is None or rec.start_ts < not_before:
                continue
            if query.matches(rec.task_type, rec.status, rec.start_ts, rec.end_ts, rec.tags):
                rows.append((_score(family, rec), task_id, rec))
        rows.sort(key=lambda row: (row[0], row[1]), reverse=desc)
        if query.cursor is not None:
            after = (query.cursor.score, query.cursor.task_id)
            rows = [r for r in rows if ((r[0], r[1]) < after if desc else (r[0], r[1]) > after)]
        shown = rows[: query.max_results]
        cursor = None
        if len(rows) > query.max_results:
            score, task_id, _ = shown[-1]
            cursor = Cursor(query.sort, query.order, score, task_id, query.digest)
        return Page([rec for _, _, rec in shown], cursor)


def _score(family: str, rec: TaskRecord) -> float:
    if family == "start":
        return float(start_ms(rec.start_ts))
    if family == "end":
        return float(end_score(rec))
    return 0.0


class MemoryTaskStore:
    """TaskStore's records in a dict. `replicas` is how many replicas `confirm` finds;
    `clock` is the time records expire by; `outbox` holds the events `finish` queued."""

    def __init__(
        self,
        ttl_s: int = 7 * 86400,
        *,
        replicas: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ttl_s = ttl_s
        self.replicas = replicas
        self.clock = clock
        self._records: dict[str, tuple[dict[str, str], int]] = {}
        self._deliveries: dict[str, list[str]] = {}
        self.outbox: list[tuple[str, OutboxEvent]] = []
        self._index = MemoryTaskListing(self)

    @property
    def index(self) -> MemoryTaskListing:
        return self._index

    def create(self, rec: TaskRecord) -> None:
        self._records[rec.task_id] = (dict(rec.to_fields()), int(rec.start_ts + self.ttl_s))
        self._index.add(rec)

    def create_many(self, records: Sequence[TaskRecord]) -> None:
        for rec in records:
            self.create(rec)

    def confirm(self, rec: TaskRecord, replicas: int, timeout_ms: int) -> None:
        if replicas <= 0:
            return
        if self._fields(rec.task_id) is None:
            raise NotDurable(f"task {rec.task_id}: the record is not on the master")
        if self.replicas < replicas:
            raise NotDurable(
                f"task {rec.task_id}: {self.replicas} of {replicas} replicas acknowledged "
                f"within {timeout_ms} ms"
            )

    def delete(self, rec: TaskRecord) -> None:
        self._records.pop(rec.task_id, None)
        self._index.remove(rec.project, rec.task_id)

    def get(self, task_id: str) -> TaskRecord | None:
        fields = self._fields(task_id)
        return None if fields is None else TaskRecord.from_fields(dict(fields))

    def task_ids(self) -> list[str]:
        """The ids of the records held (expired ones are gone)."""
        return [task_id for task_id in list(self._records) if self._fields(task_id) is not None]

    def deliveries(self, task_id: str) -> list[Any]:
        return list(self._deliveries.get(task_id, []))

    def log_delivery(self, task_id: str, entry: dict[str, Any]) -> None:
        """Append to the task's delivery log, as the notifier does."""
        self._deliveries.setdefault(task_id, []).append(json.dumps(entry))

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
        """The worker's finishing step: once, and only for a record still Running."""
        fields = self._fields(rec.task_id)
        if fields is None or fields.get("status") != TaskStatus.RUNNING:
            return False
        fields.update(
            status=str(status),
            code=code,
            message=message,
            end_ts=repr(end_ts if end_ts is not None else time.time()),
            result=json.dumps(result or {}, ensure_ascii=False),
        )
        if status == TaskStatus.SUCCEEDED:
            fields["progress"] = "100"
        self.outbox += [(rec.task_id, event) for event in events]
        return True

    def _fields(self, task_id: str) -> dict[str, str] | None:
        """The record's fields, or None once it has expired (and is then gone)."""
        stored = self._records.get(task_id)
        if stored is None:
            return None
        fields, expire_at = stored
        if self.clock() >= expire_at:
            del self._records[task_id]
            return None
        return fields


class MemoryProjects:
    """ProjectStore's projects in a dict, listed in the byte order of their names."""

    def __init__(self) -> None:
        self._projects: dict[str, dict[str, str]] = {}

    def create(self, project: Project) -> bool:
        if project.name in self._projects:
            return False
        self._projects[project.name] = project.to_fields()
        return True

    def get(self, name: str) -> Project | None:
        fields = self._projects.get(name)
        return None if fields is None else Project.from_fields(dict(fields))

    def update(self, name: str, changes: dict[str, str]) -> bool:
        fields = self._projects.get(name)
        if fields is None:
            return False
        fields.update(changes)
        return True

    def delete(self, name: str) -> bool:
        return self._projects.pop(name, None) is not None

    def names(
        self, prefix: str, start: str | None, count: int, *, exclusive: bool = False
    ) -> list[str]:
        lo, lo_open = prefix.encode(), False
        if start is not None and start >= prefix:
            lo, lo_open = start.encode(), exclusive
        hi = (prefix + "\xff").encode() if prefix else None
        ordered = sorted(name.encode() for name in self._projects)
        found = [
            n.decode()
            for n in ordered
            if (n > lo if lo_open else n >= lo) and (hi is None or n <= hi)
        ]
        return found[:count]

    def get_many(self, names: Sequence[str]) -> list[Project]:
        return [p for p in (self.get(name) for name in names) if p is not None]
