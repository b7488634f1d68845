"""IMM task types: what each Create*Task action accepts, validated before anything is queued.

Each task type is one module here declaring `TASK_TYPE` (imm_engine/tasktypes/declaration.py),
found by discovery; its processor is found the same way under workers/processors/.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from imm_engine.tasktypes.base import Submission, SubmitContext
from imm_engine.tasktypes.declaration import TaskType
from imm_engine.tasktypes.job import Job


def _discover() -> tuple[TaskType[Any], ...]:
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        declared = getattr(module, "TASK_TYPE", None)
        if isinstance(declared, TaskType):
            found.append(declared)
    return tuple(found)


TASK_TYPES: tuple[TaskType[Any], ...] = _discover()
BY_ACTION: dict[str, TaskType[Any]] = {t.action: t for t in TASK_TYPES}
BY_TYPE: dict[str, TaskType[Any]] = {t.name: t for t in TASK_TYPES}

__all__ = ["BY_ACTION", "BY_TYPE", "TASK_TYPES", "Job", "Submission", "SubmitContext", "TaskType"]
