"""One processor per task type, each a module here declaring `PROCESSOR` (found by discovery,
like the task types in imm_engine/tasktypes/)."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from workers.processors.base import Processor


def discover() -> dict[str, Processor[Any]]:
    """Task type name -> its processor."""
    found: dict[str, Processor[Any]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        processor = getattr(importlib.import_module(f"{__name__}.{info.name}"), "PROCESSOR", None)
        if processor is not None:
            found[processor.task_type.name] = processor
    return found
