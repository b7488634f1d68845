"""Object storage behind `oss://bucket/key` URIs: local directories, Alibaba OSS, S3.

`CLOUD` says, per cloud backend type, which module holds its store and which extra brings
its SDK; the SDKs are imported only when a backend uses them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from imm_engine.extras import require
from imm_engine.storage.base import ObjectStore
from imm_engine.storage.config import BackendSpec, StorageConfig
from imm_engine.storage.local import LocalStore
from imm_engine.storage.router import RoutingStore

if TYPE_CHECKING:
    from imm_engine.settings import Settings


@dataclass(frozen=True)
class Cloud:
    #: The module under imm_engine.storage, and its store class (made from the BackendSpec).
    module: str
    store: str
    #: The extra that installs the SDK, a module of that SDK, and the backend's name for people.
    extra: str
    library: str
    what: str

    def require(self) -> None:
        require(self.extra, self.library, self.what)


CLOUD: dict[str, Cloud] = {
    "oss": Cloud("oss", "OssStore", "oss", "oss2", "the OSS storage backend"),
    "s3": Cloud("s3", "S3Store", "s3", "boto3", "the S3 storage backend"),
}


def require_backends(config: StorageConfig) -> None:
    """Every configured backend's SDK is installed, or MissingExtra naming its extra."""
    for spec in config.backends.values():
        if spec.type in CLOUD:
            CLOUD[spec.type].require()


def open_backend(spec: BackendSpec, settings: Settings) -> ObjectStore:
    """One backend: a cloud store (MissingExtra without its SDK), else a local directory."""
    cloud = CLOUD.get(spec.type)
    if cloud is None:
        return LocalStore(spec.options.get("root") or settings.storage_root)
    cloud.require()
    module = importlib.import_module(f"{__name__}.{cloud.module}")
    return cast(ObjectStore, getattr(module, cloud.store)(spec))


def open_store(settings: Settings) -> ObjectStore:
    """The store the settings choose: each bucket on its backend (all local by default)."""
    config = settings.storage
    backends = {name: open_backend(spec, settings) for name, spec in config.backends.items()}
    return RoutingStore(config, backends)
