"""A local directory as object storage: `oss://bucket/key` is `<root>/bucket/key`.

Buckets are directories under the root; a target bucket is created on first write. Keys are
already free of `.`/`..` segments and control characters (imm_engine/uris.py); this backend
also refuses empty segments and any path that resolves outside the root (symbolic links).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from imm_engine.storage.base import ObjectInfo, ObjectNotFound, ObjectTooLarge, StorageError
from imm_engine.uris import OssUri


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()

    def path_of(self, uri: OssUri) -> Path:
        segments = uri.key.split("/")
        if any(s in ("", ".", "..") for s in segments):
            raise StorageError(f"{uri}: the local backend cannot store keys with empty segments")
        path = self.root / uri.bucket / Path(*segments)
        real_root = os.path.realpath(self.root)
        if os.path.commonpath([real_root, os.path.realpath(path)]) != real_root:
            raise StorageError(f"{uri}: resolves outside the storage root")
        return path

    def stat(self, uri: OssUri) -> ObjectInfo | None:
        path = self.path_of(uri)
        if not path.is_file():
            return None
        st = path.stat()
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
            tmp.unlink(missing_ok=True)
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
        real_root = os.path.realpath(self.root)
        inside = os.path.commonpath([real_root, os.path.realpath(start)]) == real_root
        if not start.is_dir() or not inside:
            return  # absent, or a link leading out of the storage root
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
