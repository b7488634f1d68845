"""One ObjectStore over several backends, chosen by bucket (exact name, else `*`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from imm_engine.storage.base import (
    Deleter,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    StorageError,
)
from imm_engine.storage.config import StorageConfig
from imm_engine.storage.listing import PrefixLister
from imm_engine.targets.uris import OssUri


class RoutingStore:
    def __init__(self, config: StorageConfig, backends: Mapping[str, ObjectStore]) -> None:
        self.config = config
        self.backends = backends

    def backend(self, bucket: str) -> ObjectStore | None:
        name = self.config.backend_for(bucket)
        return None if name is None else self.backends[name]

    def stat(self, uri: OssUri) -> ObjectInfo | None:
        store = self.backend(uri.bucket)
        return None if store is None else store.stat(uri)

    def download(self, uri: OssUri, dest: Path, *, max_bytes: int) -> ObjectInfo:
        store = self.backend(uri.bucket)
        if store is None:
            raise ObjectNotFound(f"The bucket {uri.bucket} is not configured on this server.")
        return store.download(uri, dest, max_bytes=max_bytes)

    def upload(self, src: Path, uri: OssUri) -> None:
        store = self.backend(uri.bucket)
        if store is None:
            raise StorageError(f"The bucket {uri.bucket} is not configured on this server.")
        store.upload(src, uri)

    def delete(self, uri: OssUri) -> None:
        store = self.backend(uri.bucket)
        if store is None:
            return
        if not isinstance(store, Deleter):
            raise StorageError(f"The storage of bucket {uri.bucket} cannot delete objects.")
        store.delete(uri)

    def list_prefix(self, bucket: str, prefix: str) -> Iterator[tuple[str, ObjectInfo]]:
        store = self.backend(bucket)
        if store is None:
            return
        if not isinstance(store, PrefixLister):
            raise StorageError(f"The storage of bucket {bucket} cannot list objects by prefix.")
        yield from store.list_prefix(bucket, prefix)
