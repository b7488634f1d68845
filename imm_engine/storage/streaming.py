"""Streaming an object into a file, resuming with a ranged read if the stream breaks.

Shared by the cloud backends: the object never sits whole in memory, at most one chunk.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from imm_engine.storage.base import ObjectTooLarge, StorageError

CHUNK = 1024 * 1024
#: Resumed reads after a broken stream, per download.
MAX_RESUMES = 3


@dataclass
class Opened:
    """An open GET: the full object's size, its ETag, upload time, and the body's chunks."""

    size: int
    etag: str
    mtime: float
    chunks: Iterator[bytes]
    close: Callable[[], None]


#: open(start, etag) -> Opened; start > 0 asks for the bytes from `start` of the same ETag.
Opener = Callable[[int, str], Opened]


def download_to(
    what: str,
    dest: Path,
    max_bytes: int,
    open_at: Opener,
    is_broken: Callable[[BaseException], bool],
) -> tuple[int, float]:
    """Write the object to `dest`; return (size, mtime). Raises ObjectTooLarge, StorageError."""
    first = open_at(0, "")
    size, etag, mtime = first.size, first.etag, first.mtime
    if size > max_bytes:
        first.close()
        raise ObjectTooLarge(f"The object {what} is {size} bytes, above the {max_bytes} limit.")
    written = 0
    resumes = 0
    current: Opened | None = first
    with open(dest, "wb") as out:
        while written < size or current is not None:
            try:
                if current is None:
                    current = open_at(written, etag)
                for chunk in current.chunks:
                    if written + len(chunk) > size:
                        raise StorageError(f"{what}: the object changed while it was read")
                    out.write(chunk)
                    written += len(chunk)
                current.close()
                current = None
                if written < size:
                    raise ConnectionError("the body ended early")
            except (ObjectTooLarge, StorageError):
                if current is not None:
                    current.close()
                raise
            except Exception as exc:
                if current is not None:
                    current.close()
                    current = None
                if not (isinstance(exc, ConnectionError) or is_broken(exc)):
                    raise
                resumes += 1
                if resumes > MAX_RESUMES:
                    raise StorageError(
                        f"{what}: the download broke off {resumes} times at {written} of "
                        f"{size} bytes ({exc})",
                        transient=True,
                    ) from exc
        out.flush()
        os.fsync(out.fileno())
    return size, mtime
