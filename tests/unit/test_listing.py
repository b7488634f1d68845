"""Listing objects by prefix in the local backend (imm_engine/storage/local.py)."""

from __future__ import annotations

from pathlib import Path

from imm_engine.storage.listing import PrefixLister
from imm_engine.storage.local import LocalStore


def test_list_prefix_like_oss(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for key in ("dir/a.txt", "dir/sub/b.txt", "dirt/c.txt", "other/d.txt", "top.txt"):
        path = root / "bkt" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(key)
    (root / "bkt" / "dir" / ".imm-upload-1234").write_text("half written")
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "s.txt").write_text("not in the bucket")
    (root / "bkt" / "dir" / "link").symlink_to(outside)
    (root / "bkt" / "dir" / "file-link").symlink_to(outside / "s.txt")
    store = LocalStore(root)
    assert isinstance(store, PrefixLister)

    def keys(prefix: str) -> list[str]:
        return [k for k, _ in store.list_prefix("bkt", prefix)]

    assert keys("dir/") == ["dir/a.txt", "dir/sub/b.txt"]
    assert keys("dir") == ["dir/a.txt", "dir/sub/b.txt", "dirt/c.txt"]
    assert keys("dir/sub/b") == ["dir/sub/b.txt"]
    assert keys("") == ["dir/a.txt", "dir/sub/b.txt", "dirt/c.txt", "other/d.txt", "top.txt"]
    assert keys("nothing/") == []
    assert [i.size for _, i in store.list_prefix("bkt", "top")] == [len("top.txt")]
    assert list(store.list_prefix("no-such-bucket", "")) == []
    assert keys("link/") == []  # a directory link out of the root is not followed
    (root / "escape").symlink_to(outside)
    assert list(store.list_prefix("escape", "")) == []  # nor a bucket that is a link
