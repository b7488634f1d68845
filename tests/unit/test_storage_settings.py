"""`IMM_STORAGE_CONFIG` in Settings.from_env: inline JSON or a file; errors name the variable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imm_engine.settings import Settings, SettingsError
from imm_engine.storage import open_store
from imm_engine.storage.local import LocalStore
from imm_engine.storage.router import RoutingStore

DOC = {
    "backends": {
        "disk": {"type": "local", "root": "/srv/objects"},
        "aliyun": {
            "type": "oss",
            "endpoint": "https://oss-cn-hangzhou.aliyuncs.com",
            "access_key_id": "ak",
            "access_key_secret_env": "OSS_SECRET",
        },
    },
    "buckets": {"media-in": "aliyun", "*": "disk"},
    "roles": {"reader-role": {"read": ["media-in"], "write": ["media-out"]}},
}


def test_default_is_local_under_the_storage_root(tmp_path: Path) -> None:
    s = Settings.from_env({"IMM_STORAGE_ROOT": str(tmp_path)})
    store = open_store(s)
    assert isinstance(store, RoutingStore)
    local = store.backend("any-bucket")
    assert isinstance(local, LocalStore) and local.root == tmp_path


def test_inline_and_file_give_the_same(tmp_path: Path) -> None:
    env = {"OSS_SECRET": "s3cret"}
    inline = Settings.from_env({**env, "IMM_STORAGE_CONFIG": json.dumps(DOC)})
    path = tmp_path / "storage.json"
    path.write_text(json.dumps(DOC))
    from_file = Settings.from_env({**env, "IMM_STORAGE_CONFIG": str(path)})
    assert inline.storage == from_file.storage
    assert inline.storage.backend_for("media-in") == "aliyun"
    assert inline.storage.backends["aliyun"].secret("access_key_secret") == "s3cret"
    store = open_store(inline)
    assert isinstance(store, RoutingStore)
    disk = store.backend("other-bucket")
    assert isinstance(disk, LocalStore) and disk.root == Path("/srv/objects")
    assert type(store.backend("media-in")).__name__ == "OssStore"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{not json", "IMM_STORAGE_CONFIG \\(inline JSON\\)"),
        ("/no/such/file.json", "IMM_STORAGE_CONFIG '/no/such/file.json'"),
        (json.dumps(DOC), "OSS_SECRET"),  # the secret's variable is not set
        (json.dumps({"buckets": {"*": "ghost"}}), "ghost"),
    ],
)
def test_bad_configuration_stops_the_start(value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({"IMM_STORAGE_CONFIG": value})
