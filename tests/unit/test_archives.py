"""Archive reading and the checks against hostile archives (workers/processors/archives.py)."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from imm_engine.errors import TaskFailure
from workers.processors import archives
from workers.processors.archives import Entry, Limits

LIMITS = Limits(max_entries=100, max_bytes=10 * 1024**2, max_ratio=100)


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("a.txt", "a.txt"),
        ("dir/sub/a.txt", "dir/sub/a.txt"),
        ("./a.txt", "a.txt"),
        ("dir//a.txt", "dir/a.txt"),
        ("dir\\a.txt", "dir/a.txt"),
        ("dir/", "dir"),
        ("a..b/c..", "a..b/c.."),  # dots inside names are fine
    ],
)
def test_safe_names(name: str, safe: str) -> None:
    assert archives.safe_name(name) == safe


@pytest.mark.parametrize(
    "name",
    [
        "../evil.txt",
        "a/../../evil.txt",
        "a/b/../c",  # any '..' is refused, even one that stays inside
        "/etc/passwd",
        "\\windows\\evil.txt",
        "..\\..\\evil.txt",
        "C:/evil.txt",
        "c:evil.txt",
        "a\x00b",
        "a\nb",
        ".",
        "",
    ],
)
def test_unsafe_names(name: str) -> None:
    with pytest.raises(TaskFailure) as err:
        archives.safe_name(name)
    assert err.value.code == "InvalidFile.UnsafeEntry"


def entry(size: int, compressed: int | None = None, name: str = "f", kind: str = "file") -> Entry:
    return Entry(name=name, size=size, compressed=compressed, mtime=0.0, kind=kind)


@pytest.mark.parametrize(
    ("entries", "archive_size", "code"),
    [
        ([entry(10, 5)] * 100, 1000, None),
        ([entry(10, 5)] * 101, 1000, "InvalidFile.TooManyEntries"),
        ([entry(6 * 1024**2, 6 * 1024**2)] * 2, 12 * 1024**2, "InvalidFile.UncompressedTooLarge"),
        ([entry(50 * 1024**2, 1000)], 1100, "InvalidFile.CompressionRatio"),  # one bomb entry
        ([entry(1024**2, 1)], 100, None),  # at the 1 MiB floor: small enough to allow
        ([entry(4 * 1024**2, None)], 1000, "InvalidFile.CompressionRatio"),  # tar.gz: whole ratio
        ([entry(4 * 1024**2, None)], 100 * 1024, None),  # 40x: ordinary
        ([entry(0, 0, kind="dir")] * 50, 10, None),
    ],
)
def test_limits(entries: list[Entry], archive_size: int, code: str | None) -> None:
    if code is None:
        archives.check_limits(entries, archive_size, LIMITS)
        return
    with pytest.raises(TaskFailure) as err:
        archives.check_limits(entries, archive_size, LIMITS)
    assert err.value.code == code


@pytest.mark.parametrize("kind", ["symlink", "hardlink", "device", "other"])
def test_links_and_devices_are_refused(kind: str) -> None:
    with pytest.raises(TaskFailure) as err:
        archives.check_entry_kind(entry(0, kind=kind, name="link"))
    assert err.value.code == "InvalidFile.UnsafeEntry"


def test_zip_entries_and_kinds(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("dir/", b"")
        zf.writestr(zipfile.ZipInfo("dir/a.txt", (2024, 5, 6, 7, 8, 10)), b"hello")
        link = zipfile.ZipInfo("link")
        link.create_system = 3
        link.external_attr = 0o120777 << 16
        zf.writestr(link, b"/etc/passwd")
    archive = archives.open_archive(path, "", 100)
    try:
        assert archive.format == "zip"
        kinds = [(e.name, e.kind, e.size) for e in archive.entries]
        assert kinds == [("dir/", "dir", 0), ("dir/a.txt", "file", 5), ("link", "symlink", 11)]
        assert archive.entries[1].mtime == 1714979290.0  # 2024-05-06T07:08:10Z
        with archive.open(archive.entries[1]) as stream:
            assert stream.read() == b"hello"
    finally:
        archive.close()


def test_declared_entry_count_is_read_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(150):
            zf.writestr(f"{i}.txt", b"")
    assert archives.zip_declared_entries(path) == 150
    with pytest.raises(TaskFailure) as err:
        archives.open_archive(path, "", 100)
    assert err.value.code == "InvalidFile.TooManyEntries"


@pytest.mark.parametrize(("mode", "fmt"), [("w", "tar"), ("w:gz", "tar.gz"), ("w:xz", "tar.xz")])
def test_tar_entries(tmp_path: Path, mode: str, fmt: str) -> None:
    path = tmp_path / "a.tar"
    with tarfile.open(path, mode) as tf:
        data = b"tar data"
        info = tarfile.TarInfo("d/x.bin")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
        sym = tarfile.TarInfo("evil")
        sym.type = tarfile.SYMTYPE
        sym.linkname = "/etc/passwd"
        tf.addfile(sym)
        dev = tarfile.TarInfo("null")
        dev.type = tarfile.CHRTYPE
        tf.addfile(dev)
    archive = archives.open_archive(path, "", 100)
    try:
        assert archive.format == fmt
        assert [(e.name, e.kind) for e in archive.entries] == [
            ("d/x.bin", "file"), ("evil", "symlink"), ("null", "device"),
        ]  # fmt: skip
        with archive.open(archive.entries[0]) as stream:
            assert stream.read() == b"tar data"
    finally:
        archive.close()


def test_not_an_archive(tmp_path: Path) -> None:
    path = tmp_path / "x.zip"
    path.write_bytes(b"%PDF-1.4 not an archive" * 100)
    with pytest.raises(TaskFailure) as err:
        archives.open_archive(path, "", 100)
    assert err.value.code == "InvalidFile.UnsupportedArchive"


def test_copy_stops_past_the_declared_size(tmp_path: Path) -> None:
    with pytest.raises(TaskFailure) as err:
        archives.copy_limited(io.BytesIO(b"x" * 100), tmp_path / "o", 99, "f")
    assert err.value.code == "InvalidFile"
    assert archives.copy_limited(io.BytesIO(b"x" * 99), tmp_path / "o", 99, "f") == 99


NAMES = [
    # (entries as (safe name, is directory), refusal fragment or None)
    pytest.param([("a.txt", False), ("d", True), ("d/b.txt", False)], None, id="plain"),
    pytest.param([("d/b.txt", False), ("d", True), ("d/e/c.txt", False)], None,
                 id="directory-entry-after-its-files"),
    pytest.param([("d", True), ("d", True)], None, id="directory-twice-is-harmless"),
    pytest.param([("dup.txt", False), ("dup.txt/inner.txt", False)],
                 "lies under 'dup.txt', which the archive holds as a file", id="file-then-under"),
    pytest.param([("dup.txt/inner.txt", False), ("dup.txt", False)],
                 "also holds a directory of this name", id="under-then-file"),
    pytest.param([("x", False), ("x/y/z", False)], "lies under 'x'", id="file-two-levels-up"),
    pytest.param([("x", False), ("x", True)], "holds a file of this name", id="file-then-dir"),
    pytest.param([("a.txt", False), ("a.txt", False)], "holds a file of this name already",
                 id="same-file-twice"),
    pytest.param([("d/" + "n" * 256, False)], "256 bytes, more than 255", id="segment-too-long"),
    pytest.param([("n" * 255, False)], None, id="segment-at-the-limit"),
    pytest.param([("é" * 128, False)], "256 bytes", id="limit-is-in-utf8-bytes"),
]  # fmt: skip


@pytest.mark.parametrize(("named", "fragment"), NAMES)
def test_names_that_cannot_be_extracted_side_by_side(
    named: list[tuple[str, bool]], fragment: str | None
) -> None:
    if fragment is None:
        archives.check_names(named)
        return
    with pytest.raises(TaskFailure) as info:
        archives.check_names(named)
    assert info.value.code == "InvalidFile.UnsafeEntry"
    assert fragment in info.value.message
