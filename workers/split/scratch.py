"""The temporary PDF the ranges of a split task share, through storage (not the broker).

It is written under the reserved prefix `.imm-engine/split/` of IMM_SPLIT_BUCKET (by default
the task's target bucket, which the task may write), registered in a Redis sorted set with the
time after which nothing needs it, and deleted when the task ends, succeeded or failed. Each
range run pushes that time back (IMM_SPLIT_SCRATCH_TTL from now); what a crash leaves behind
is deleted by `sweep`, which every split task runs when it starts.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path

from imm_engine.errors import ImmError, TaskFailure
from imm_engine.state.split import SplitStore
from imm_engine.storage.base import Deleter, ObjectNotFound, ObjectStore, StorageError
from imm_engine.targets import uris

log = logging.getLogger("imm_engine.worker")

PREFIX = ".imm-engine/split"


def uri_for(task_id: str, bucket: str) -> uris.OssUri:
    return uris.OssUri(bucket=bucket, key=f"{PREFIX}/{task_id}/source.pdf")


def put(store: ObjectStore, splits: SplitStore, pdf: Path, uri: uris.OssUri) -> None:
    splits.register_scratch(str(uri))  # first: a crash after the upload leaves no orphan
    try:
        store.upload(pdf, uri)
    except StorageError as exc:
        raise TaskFailure(
            "TargetWriteFailed",
            f"Cannot write the temporary PDF {uri}: {exc}",
            retryable=exc.transient,
        ) from exc


def fetch(store: ObjectStore, uri: uris.OssUri, dest: Path) -> None:
    try:
        store.download(uri, dest, max_bytes=1 << 40)
    except ObjectNotFound as exc:
        raise TaskFailure(
            "InternalError", f"The temporary PDF {uri} of this task is gone."
        ) from exc
    except StorageError as exc:
        raise TaskFailure(
            "SourceReadFailed",
            f"Cannot read the temporary PDF {uri}: {exc}",
            retryable=exc.transient,
        ) from exc


def delete(store: ObjectStore, splits: SplitStore, uri: str) -> bool:
    """Delete the temporary PDF and forget it; False (kept for the sweeper) on an error."""
    try:
        parsed = uris.parse_object(uri, "scratch")
        if isinstance(store, Deleter):
            store.delete(parsed)
        else:
            log.warning("%s: this storage cannot delete; left to the bucket's lifecycle", uri)
    except ImmError as exc:  # StorageError, or a URI we cannot parse
        log.warning("cannot delete the temporary PDF %s (the sweeper retries): %s", uri, exc)
        return False
    splits.forget_scratch(uri)
    return True


def sweep(store: ObjectStore, splits: SplitStore, now: float | None = None) -> int:
    """Delete temporary PDFs nothing touched for IMM_SPLIT_SCRATCH_TTL; how many."""
    gone = 0
    with contextlib.suppress(StorageError):
        for uri in splits.expired_scratch(time.time() if now is None else now):
            log.info("deleting the orphaned temporary PDF %s", uri)
            gone += delete(store, splits, uri)
    return gone
