"""What a processor receives and what it returns."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from imm_engine.models import TaskRecord
from imm_engine.settings import Settings
from imm_engine.storage.base import ObjectStore
from imm_engine.tasktypes.declaration import TaskType
from imm_engine.tasktypes.job import Job

J = TypeVar("J", bound=Job)


class Progress:
    """Reports 0-100 progress, at most every `interval_s` and only when it moved."""

    def __init__(self, report: Callable[[int], None], interval_s: float = 0.5) -> None:
        self.report = report
        self.interval_s = interval_s
        self.last_value = -1
        self.last_time = 0.0

    def __call__(self, value: float, *, force: bool = False) -> None:
        pct = max(0, min(99, int(value)))
        now = time.monotonic()
        if pct != self.last_value and (force or now - self.last_time >= self.interval_s):
            self.report(pct)
            self.last_value, self.last_time = pct, now


class Deferred(Exception):
    """The run handed the rest of its work to sub-tasks (workers/split/), which finish the
    task; the runner leaves the record Running."""


@dataclass
class TaskContext:
    settings: Settings
    storage: ObjectStore
    workdir: Path
    progress: Progress
    #: Process-wide helpers (e.g. the warm LibreOffice), created lazily by name.
    resources: dict[str, Any] = field(default_factory=dict)
    #: Called with each document page number whose output is written (early pages).
    on_page: Callable[[int, int], None] | None = None


class Processor(Protocol[J]):
    """Runs one task type: gets the record's job typed (`task_type.job`) with the record."""

    @property
    def task_type(self) -> TaskType[J]: ...

    def run(self, job: J, rec: TaskRecord, ctx: TaskContext) -> dict[str, Any]:
        """Do the work; return the task-specific fields of the completion event.
        Raise TaskFailure for a failure the user should see."""
