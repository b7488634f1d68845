"""A task's view of storage: only the buckets its service role is granted (issue 3.7)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from imm_engine.errors import ApiError
from imm_engine.storage.base import AccessDenied, ObjectInfo, ObjectStore, StorageError
from imm_engine.storage.grants import Access, Grants, first_denial
from imm_engine.storage.listing import PrefixLister
from imm_engine.targets.uris import SCHEME, OssUri


class GuardedStore:
    """Wraps a store; refuses (AccessDenied) what the role may not read or write."""

    def __init__(self, inner: ObjectStore, grants: Grants, role: str) -> None:
        self.inner = inner
        self.grants = grants
        self.role = role

    def _check(self, uri: OssUri, access: Access) -> None:
        why = self.grants.denial(self.role, uri.bucket, access)
        if why:
            raise AccessDenied(why)

    def stat(self, uri: OssUri) -> ObjectInfo | None:
        self._check(uri, Access.READ)
        return self.inner.stat(uri)

    def download(self, uri: OssUri, dest: Path, *, max_bytes: int) -> ObjectInfo:
        self._check(uri, Access.READ)
        return self.inner.download(uri, dest, max_bytes=max_bytes)

    def upload(self, src: Path, uri: OssUri) -> None:
        self._check(uri, Access.WRITE)
        self.inner.upload(src, uri)

    def list_prefix(self, bucket: str, prefix: str) -> Iterator[tuple[str, ObjectInfo]]:
        why = self.grants.denial(self.role, bucket, Access.READ)
        if why:
            raise AccessDenied(why)
        if not isinstance(self.inner, PrefixLister):
            raise StorageError(f"The storage of bucket {bucket} cannot list objects by prefix.")
        yield from self.inner.list_prefix(bucket, prefix)


def check_uris(grants: Grants, role: str, reads: Iterable[str], writes: Iterable[str]) -> None:
    """At submission: refuse a task whose role may not read `reads` or write `writes`.

    Each item is an `oss://bucket/...` URI (or a bare bucket name). Raises ApiError 403
    `AccessDenied`, as IMM does when the project's ServiceRole lacks access."""
    why = first_denial(grants, role, map(bucket_of, reads), map(bucket_of, writes))
    if why:
        raise ApiError("AccessDenied", why, 403)


def bucket_of(uri: str) -> str:
    rest = uri[len(SCHEME) :] if uri.startswith(SCHEME) else uri
    return rest.partition("/")[0]
