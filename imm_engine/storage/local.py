"""A local directory as object storage: `oss://bucket/key` is `<root>/bucket/key`.

Buckets are directories under the root; a target bucket is created on first write. Keys are
already free of `.`/`..` segments and control characters (imm_engine/targets/uris.py); this backend
also refuses empty segments, and a bucket directory that is a symbolic link or a key that
resolves outside its own bucket directory through one (AccessDenied): a link never leads
from one bucket into another. A key segment longer than the file system's NAME_MAX (255
bytes) cannot exist here: reading it finds no object, writing it fails with a clear message.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from imm_engine.storage.base import (
    AccessDenied,
    ObjectInfo,
    ObjectNotFound,
    ObjectTooLarge,
    StorageError,
)
from imm_engine.targets.uris import OssUri

#: Longest file name (one path segment) Linux file systems allow, in bytes.
NAME_MAX = 255


class UnstorableKey(StorageError):
    """The key is valid on OSS but this backend cannot hold it."""


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()

    def path_of(self, uri: OssUri) -> Path:
        segments = uri.key.split("/")
        if any(s in ("", ".", "..") for s in segments):
            raise StorageError(f"{uri}: the local backend cannot store keys with empty segments")
        longest = max(len(os.fsencode(s)) for s in segments)
        if longest > NAME_MAX:
            raise UnstorableKey(
                f"{uri}: the local backend cannot hold a key segment (the part between two "
                f"'/') of {longest} bytes; its file system allows {NAME_MAX}"
            )
        bucket = self.root / uri.bucket
        path = bucket / Path(*segments)
        self._check_inside(str(uri), bucket, path)
        return path

    def _check_inside(self, what: str, bucket: Path, path: Path) -> None:
        """Refuse a bucket directory that is a link, and a path that a link leads out of it."""
        real_bucket = os.path.join(os.path.realpath(self.root), bucket.name)
        if os.path.realpath(bucket) != real_bucket:
            raise AccessDenied(f"{what}: the bucket directory is a symbolic link, which is refused")
        if os.path.commonpath([real_bucket, os.path.realpath(path)]) != real_bucket:
            raise AccessDenied(f"{what}: a symbolic link leads out of the bucket; refused")

    def stat(self, uri: OssUri) -> ObjectInfo | None:
        try:
            path = self.path_of(uri)
        except UnstorableKey:
            return None  # no such object can exist here
        try:
            if not path.is_file():
                return None
            st = path.stat()
        except OSError as exc:
            raise StorageError(f"cannot read {uri}: {exc.strerror or exc}") from exc
        return ObjectInfo(size=st.st_size, mtime=st.st_mtime)

    def download(self, uri: OssUri, dest: Path, *, max_bytes: int) -> ObjectInfo:
        info = self.stat(uri)
        if info is None:
            raise ObjectNotFound(f"The object {uri} does not exist.")
        if info.size > max_bytes:
            raise ObjectTooLarge(
                f"The object {uri} is {info.size} bytes, above the {max_bytes} limit."
            )
        shutil.copyfile(self.path_of(uri), dest)
        return info

    def upload(self, src: Path, uri: OssUri) -> None:
        path = self.path_of(uri)
        tmp = path.parent / f".imm-upload-{uuid.uuid4().hex}"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, tmp)
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):  # e.g. a parent that is a file: no tmp either
                tmp.unlink()
            raise StorageError(f"cannot write {uri}: {exc.strerror or exc}") from exc

    def delete(self, uri: OssUri) -> None:
        try:
            self.path_of(uri).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete {uri}: {exc.strerror or exc}") from exc

    def list_prefix(self, bucket: str, prefix: str) -> Iterator[tuple[str, ObjectInfo]]:
        """Objects under `prefix` in key order; symbolic links and upload leftovers are skipped."""
        top = self.root / bucket
        directory = prefix[: prefix.rfind("/") + 1]
        start = top / directory if directory else top
        try:
            self._check_inside(f"oss://{bucket}/{prefix}", top, start)
        except AccessDenied:
            return  # a link (the bucket, or a directory on the way) is not followed
        if not start.is_dir():
            return
        found: list[tuple[str, ObjectInfo]] = []
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
            for name in filenames:
                path = Path(dirpath) / name
                if name.startswith(".imm-upload-") or path.is_symlink():
                    continue
                key = path.relative_to(top).as_posix()
                if key.startswith(prefix):
                    st = path.stat()
                    found.append((key, ObjectInfo(size=st.st_size, mtime=st.st_mtime)))
        yield from sorted(found)
