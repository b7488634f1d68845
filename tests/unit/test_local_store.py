"""The local backend keeps each bucket to its own directory (imm_engine/storage/local.py).

Real files and symbolic links under tmp_path: a link never leads from one bucket into another
or out of the root, and a key the file system cannot hold is a clear error, not an OSError.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imm_engine.storage.base import AccessDenied, ObjectNotFound, StorageError
from imm_engine.storage.local import LocalStore, UnstorableKey
from imm_engine.targets.uris import OssUri


@pytest.fixture()
def store(tmp_path: Path) -> LocalStore:
    root = tmp_path / "root"
    (root / "tenant-a" / "docs").mkdir(parents=True)
    (root / "tenant-a" / "docs" / "secret.txt").write_text("tenant A's secret")
    (root / "tenant-b" / "own").mkdir(parents=True)
    (root / "tenant-b" / "own" / "real.txt").write_text("B's own")
    (tmp_path / "outside.txt").write_text("not in any bucket")
    b = root / "tenant-b"
    (b / "peek.txt").symlink_to(root / "tenant-a" / "docs" / "secret.txt")
    (b / "relative.txt").symlink_to(Path("..") / "tenant-a" / "docs" / "secret.txt")
    (b / "docs-of-a").symlink_to(root / "tenant-a" / "docs")
    (b / "out.txt").symlink_to(tmp_path / "outside.txt")
    (b / "alias.txt").symlink_to(b / "own" / "real.txt")  # stays in the bucket
    (root / "alias-of-a").symlink_to(root / "tenant-a")  # a bucket that is a link
    return LocalStore(root)


REFUSED = [
    pytest.param("tenant-b", "peek.txt", id="file-link-into-another-bucket"),
    pytest.param("tenant-b", "relative.txt", id="relative-link-into-another-bucket"),
    pytest.param("tenant-b", "docs-of-a/secret.txt", id="directory-link-into-another-bucket"),
    pytest.param("tenant-b", "out.txt", id="link-out-of-the-root"),
    pytest.param("alias-of-a", "docs/secret.txt", id="bucket-directory-is-a-link"),
]  # fmt: skip


@pytest.mark.parametrize(("bucket", "key"), REFUSED)
def test_links_out_of_the_bucket_are_refused(
    store: LocalStore, tmp_path: Path, bucket: str, key: str
) -> None:
    uri = OssUri(bucket, key)
    with pytest.raises(AccessDenied) as info:
        store.stat(uri)
    assert "symbolic link" in str(info.value)
    with pytest.raises(AccessDenied):
        store.download(uri, tmp_path / "copy", max_bytes=1 << 20)
    assert not (tmp_path / "copy").exists()
    src = tmp_path / "new.txt"
    src.write_text("overwrite attempt")
    with pytest.raises(AccessDenied):
        store.upload(src, uri)
    assert (store.root / "tenant-a" / "docs" / "secret.txt").read_text() == "tenant A's secret"
    assert (tmp_path / "outside.txt").read_text() == "not in any bucket"


def test_a_link_within_its_bucket_is_followed(store: LocalStore, tmp_path: Path) -> None:
    info = store.download(OssUri("tenant-b", "alias.txt"), tmp_path / "c", max_bytes=100)
    assert info.size == len("B's own") and (tmp_path / "c").read_text() == "B's own"


def test_listing_does_not_follow_links_out_of_the_bucket(store: LocalStore) -> None:
    assert [k for k, _ in store.list_prefix("tenant-b", "")] == ["own/real.txt"]
    assert list(store.list_prefix("tenant-b", "docs-of-a/")) == []
    assert list(store.list_prefix("alias-of-a", "")) == []


def test_a_key_segment_longer_than_name_max(store: LocalStore, tmp_path: Path) -> None:
    long = OssUri("tenant-b", "own/" + "n" * 296 + ".txt")  # the parent directory exists
    assert store.stat(long) is None  # no such object can exist here
    with pytest.raises(ObjectNotFound):
        store.download(long, tmp_path / "c", max_bytes=100)
    src = tmp_path / "new.txt"
    src.write_text("x")
    with pytest.raises(UnstorableKey) as info:
        store.upload(src, long)
    assert "300 bytes" in str(info.value) and "255" in str(info.value)
    assert not info.value.transient
    assert sorted(p.name for p in (store.root / "tenant-b" / "own").iterdir()) == ["real.txt"]
    at_limit = OssUri("tenant-b", "own/" + "n" * 255)
    store.upload(src, at_limit)
    assert store.stat(at_limit) is not None


def test_writing_under_a_key_that_is_an_object_fails_cleanly(
    store: LocalStore, tmp_path: Path
) -> None:
    src = tmp_path / "new.txt"
    src.write_text("x")
    with pytest.raises(StorageError) as info:
        store.upload(src, OssUri("tenant-b", "own/real.txt/inner.txt"))
    assert "cannot write" in str(info.value)
    assert sorted(p.name for p in (store.root / "tenant-b" / "own").iterdir()) == ["real.txt"]
