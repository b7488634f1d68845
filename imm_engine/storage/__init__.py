"""Object storage behind `oss://bucket/key` URIs: local directories, Alibaba OSS, S3."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from imm_engine.extras import require
from imm_engine.storage.base import ObjectStore
from imm_engine.storage.config import BackendSpec, StorageConfig
from imm_engine.storage.local import LocalStore
from imm_engine.storage.router import RoutingStore

if TYPE_CHECKING:
    from imm_engine.settings import Settings

#: backend type -> (the extra that installs its SDK, a module of that SDK, what needs it)
EXTRAS: Mapping[str, tuple[str, str, str]] = {
    "oss": ("oss", "oss2", "the OSS storage backend"),
    "s3": ("s3", "boto3", "the S3 storage backend"),
}


def require_backends(config: StorageConfig) -> None:
    """Every configured backend's SDK is installed, or MissingExtra naming its extra."""
    for spec in config.backends.values():
        if spec.type in EXTRAS:
            require(*EXTRAS[spec.type])


def open_backend(spec: BackendSpec, settings: Settings) -> ObjectStore:
    """One backend; the cloud SDKs are imported only when a backend uses them."""
    if spec.type in EXTRAS:
        require(*EXTRAS[spec.type])
    if spec.type == "oss":
        from imm_engine.storage.oss import OssStore

        return OssStore(spec)
    if spec.type == "s3":
        from imm_engine.storage.s3 import S3Store

        return S3Store(spec)
    return LocalStore(spec.options.get("root") or settings.storage_root)


def open_store(settings: Settings) -> ObjectStore:
    """The store the settings choose: each bucket on its backend (all local by default)."""
    config = settings.storage
    backends = {name: open_backend(spec, settings) for name, spec in config.backends.items()}
    return RoutingStore(config, backends)
