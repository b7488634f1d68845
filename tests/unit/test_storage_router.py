"""The routing store (by bucket) and the guarded store (by role), over local directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from imm_engine.storage.base import AccessDenied, ObjectNotFound, StorageError
from imm_engine.storage.config import parse_storage_config
from imm_engine.storage.grants import parse_grants
from imm_engine.storage.guarded import GuardedStore
from imm_engine.storage.local import LocalStore
from imm_engine.storage.router import RoutingStore
from imm_engine.targets.uris import OssUri


def router(tmp_path: Path, star: bool = True) -> RoutingStore:
    buckets = {"special": "b"} | ({"*": "a"} if star else {})
    config = parse_storage_config(
        {
            "backends": {
                "a": {"type": "local", "root": str(tmp_path / "a")},
                "b": {"type": "local", "root": str(tmp_path / "b")},
            },
            "buckets": buckets,
        },
        {},
    )
    return RoutingStore(config, {n: LocalStore(tmp_path / n) for n in ("a", "b")})


def test_buckets_go_to_their_backend(tmp_path: Path) -> None:
    store = router(tmp_path)
    (tmp_path / "f").write_bytes(b"data")
    store.upload(tmp_path / "f", OssUri("special", "k/x.txt"))
    store.upload(tmp_path / "f", OssUri("other", "k/x.txt"))
    assert (tmp_path / "b" / "special" / "k" / "x.txt").read_bytes() == b"data"
    assert (tmp_path / "a" / "other" / "k" / "x.txt").read_bytes() == b"data"
    assert not (tmp_path / "a" / "special").exists()
    info = store.download(OssUri("special", "k/x.txt"), tmp_path / "d", max_bytes=10)
    assert info.size == 4


def test_bucket_without_backend(tmp_path: Path) -> None:
    store = router(tmp_path, star=False)
    (tmp_path / "f").write_bytes(b"data")
    assert store.stat(OssUri("other", "x.txt")) is None
    with pytest.raises(ObjectNotFound, match="not configured"):
        store.download(OssUri("other", "x.txt"), tmp_path / "d", max_bytes=10)
    with pytest.raises(StorageError, match="not configured") as err:
        store.upload(tmp_path / "f", OssUri("other", "x.txt"))
    assert not err.value.transient


def test_guarded_store_refuses_before_touching_the_backend(tmp_path: Path) -> None:
    inner = LocalStore(tmp_path / "root")
    (tmp_path / "f").write_bytes(b"data")
    inner.upload(tmp_path / "f", OssUri("in-bkt", "x.txt"))
    grants = parse_grants({"r": {"read": ["in-bkt"], "write": ["out-bkt"]}})
    store = GuardedStore(inner, grants, "r")
    assert store.download(OssUri("in-bkt", "x.txt"), tmp_path / "d", max_bytes=10).size == 4
    store.upload(tmp_path / "f", OssUri("out-bkt", "y.txt"))
    with pytest.raises(AccessDenied, match="r is not granted write access to the bucket in-bkt"):
        store.upload(tmp_path / "f", OssUri("in-bkt", "z.txt"))
    assert not (tmp_path / "root" / "in-bkt" / "z.txt").exists()
    with pytest.raises(AccessDenied, match="read"):
        store.stat(OssUri("out-bkt", "y.txt"))
    with pytest.raises(AccessDenied, match="not configured"):
        GuardedStore(inner, grants, "ghost").stat(OssUri("in-bkt", "x.txt"))
    # The default role ("" or its name) grants everything when not defined.
    GuardedStore(inner, grants, "").upload(tmp_path / "f", OssUri("any-bkt", "a.txt"))
