"""The interface every storage backend implements."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from imm_engine.errors import ImmError
from imm_engine.targets.uris import OssUri


class StorageError(ImmError):
    """The backend failed; `transient` when trying again may succeed."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class ObjectNotFound(StorageError):
    pass


class ObjectTooLarge(StorageError):
    pass


class AccessDenied(StorageError):
    """Reading or writing is not allowed: by the role's grants or by the storage service."""


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    #: Last modification (upload) time, Unix seconds.
    mtime: float


class ObjectStore(Protocol):
    def stat(self, uri: OssUri) -> ObjectInfo | None:
        """Size and time of an object, or None when it does not exist."""

    def download(self, uri: OssUri, dest: Path, *, max_bytes: int) -> ObjectInfo:
        """Copy the object to `dest`. Raises ObjectNotFound, or ObjectTooLarge past `max_bytes`."""

    def upload(self, src: Path, uri: OssUri) -> None:
        """Write `src` as the object, atomically: readers see the old object or the new one."""


@runtime_checkable
class Deleter(Protocol):
    """A backend that can remove objects: used only for imm-engine's own temporary objects
    (the PDF that the page ranges of a split task share, workers/split/scratch.py)."""

    def delete(self, uri: OssUri) -> None:
        """Remove the object; an object that does not exist is not an error."""
        ...
