"""Object storage behind `oss://bucket/key` URIs."""

from __future__ import annotations

from imm_engine.settings import Settings
from imm_engine.storage.base import ObjectStore
from imm_engine.storage.local import LocalStore


def open_store(settings: Settings) -> ObjectStore:
    """The object store the settings choose (the local directory for now)."""
    return LocalStore(settings.storage_root)
