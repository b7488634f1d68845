"""A private temporary directory per task run, always removed."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def workdir(task_id: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"imm-{task_id[:60]}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
