"""Reading sources from and writing outputs to storage, with IMM's failure codes."""

from __future__ import annotations

from pathlib import Path

from imm_engine.errors import TaskFailure
from imm_engine.storage.base import ObjectInfo, ObjectNotFound, ObjectTooLarge, StorageError
from imm_engine.targets import uris
from workers.processors.base import TaskContext


def fetch(
    ctx: TaskContext, source: uris.OssUri, dest: Path, *, max_bytes: int | None = None
) -> ObjectInfo:
    limit = ctx.settings.max_source_bytes if max_bytes is None else max_bytes
    try:
        return ctx.storage.download(source, dest, max_bytes=limit)
    except ObjectNotFound as exc:
        raise TaskFailure(
            "ResourceNotFound", f"The source object {source} does not exist."
        ) from exc
    except ObjectTooLarge as exc:
        raise TaskFailure("InvalidFile.TooLarge", str(exc)) from exc
    except StorageError as exc:
        raise TaskFailure(
            "SourceReadFailed", f"Cannot read {source}: {exc}", retryable=exc.transient
        ) from exc


def upload(ctx: TaskContext, path: Path, target: uris.OssUri) -> None:
    try:
        ctx.storage.upload(path, target)
    except StorageError as exc:
        raise TaskFailure(
            "TargetWriteFailed", f"Cannot write {target}: {exc}", retryable=exc.transient
        ) from exc
