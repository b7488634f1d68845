"""Zip and tar archives read alike, and the checks that keep hostile archives harmless.

`open_archive` detects the format from the content (zip; tar, plain or gzip/bzip2/xz), lists
the entries without extracting them, and opens one entry at a time as a stream. The pure
functions `safe_name` and `check_limits` decide whether an entry may be written and whether
an archive is too big to expand (entry count, total bytes, compression ratio).
"""

from __future__ import annotations

import re
import stat
import struct
import tarfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from imm_engine.errors import TaskFailure

#: Entries (or a whole archive) past this size are checked against the compression ratio.
RATIO_FLOOR = 1024 * 1024
#: Longest path segment (file name) Linux file systems allow, in bytes.
NAME_MAX = 255
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAGIC = ((b"\x1f\x8b", ".gz"), (b"BZh", ".bz2"), (b"\xfd7zXZ\x00", ".xz"))


@dataclass(frozen=True)
class Limits:
    max_entries: int
    max_bytes: int
    max_ratio: int


@dataclass(frozen=True)
class Entry:
    name: str
    size: int
    #: Bytes the entry takes in the archive; None when the format does not say (tar).
    compressed: int | None
    mtime: float
    #: "file", "dir", "symlink", "hardlink", "device" or "other"
    kind: str
    encrypted: bool = False
    #: Position in the archive (names may repeat).
    index: int = -1

    @property
    def is_dir(self) -> bool:
        return self.kind == "dir"


class Archive:
    """An opened archive: `entries` in archive order, `open(entry)` streams one entry."""

    def __init__(self, fmt: str, entries: list[Entry]) -> None:
        self.format = fmt
        self.entries = entries

    @contextmanager
    def open(self, entry: Entry) -> Iterator[IO[bytes]]:
        raise NotImplementedError
        yield  # pragma: no cover

    def close(self) -> None:
        pass


class ZipArchive(Archive):
    def __init__(self, zf: zipfile.ZipFile, entries: list[Entry], password: str) -> None:
        super().__init__("zip", entries)
        self.zf = zf
        self.infos = zf.infolist()
        self.password = password.encode("utf-8") if password else None

    @contextmanager
    def open(self, entry: Entry) -> Iterator[IO[bytes]]:
        if entry.encrypted and not self.password:
            raise TaskFailure("PasswordRequired", "The archive is encrypted; set Password.")
        try:
            with self.zf.open(self.infos[entry.index], pwd=self.password) as stream:
                yield stream
        except RuntimeError as exc:  # zipfile: "Bad password for file ..."
            if "password" in str(exc).lower():
                raise TaskFailure(
                    "InvalidPassword", "The Password does not open the archive."
                ) from exc
            raise
        except NotImplementedError as exc:  # AES encryption, unknown compression methods
            raise TaskFailure(
                "InvalidFile.UnsupportedArchive",
                f"The entry {entry.name!r} uses a method this server cannot read: {exc}",
            ) from exc
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise TaskFailure("InvalidFile", f"The entry {entry.name!r} is damaged: {exc}") from exc

    def close(self) -> None:
        self.zf.close()


class TarArchive(Archive):
    def __init__(
        self,
        tf: tarfile.TarFile,
        members: list[tarfile.TarInfo],
        entries: list[Entry],
        compression: str,
    ) -> None:
        super().__init__(f"tar{compression}", entries)
        self.tf = tf
        self.members = members

    @contextmanager
    def open(self, entry: Entry) -> Iterator[IO[bytes]]:
        try:
            stream = self.tf.extractfile(self.members[entry.index])
            if stream is None:
                raise TaskFailure("InvalidFile", f"The entry {entry.name!r} holds no data.")
            with stream:
                yield stream
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise TaskFailure("InvalidFile", f"The entry {entry.name!r} is damaged: {exc}") from exc

    def close(self) -> None:
        self.tf.close()


def open_archive(path: Path, password: str, max_entries: int) -> Archive:
    """Open a zip or tar archive and list its entries; TaskFailure when it is neither."""
    if zipfile.is_zipfile(path):
        return _open_zip(path, password, max_entries)
    try:
        is_tar = tarfile.is_tarfile(path)
    except (OSError, EOFError):
        is_tar = False
    if is_tar:
        return _open_tar(path, max_entries)
    raise TaskFailure(
        "InvalidFile.UnsupportedArchive",
        "The source is not a zip or tar archive (tar may be gzip, bzip2 or xz compressed; "
        "7z and rar are not supported).",
    )


def _open_zip(path: Path, password: str, max_entries: int) -> ZipArchive:
    declared = zip_declared_entries(path)
    if declared is not None and declared > max_entries:
        raise _too_many(declared, max_entries)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise TaskFailure("InvalidFile", f"The zip archive cannot be read: {exc}") from exc
    infos = zf.infolist()
    if len(infos) > max_entries:
        zf.close()
        raise _too_many(len(infos), max_entries)
    entries = [_zip_entry(info, i) for i, info in enumerate(infos)]
    return ZipArchive(zf, entries, password)


def _zip_entry(info: zipfile.ZipInfo, index: int) -> Entry:
    mode = info.external_attr >> 16 if info.create_system == 3 else 0
    if info.is_dir():
        kind = "dir"
    elif stat.S_ISLNK(mode):
        kind = "symlink"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        kind = "device"
    else:
        kind = "file"
    try:
        mtime = datetime(*info.date_time, tzinfo=UTC).timestamp()
    except ValueError:
        mtime = 0.0
    return Entry(
        name=info.filename,
        size=info.file_size,
        compressed=info.compress_size,
        mtime=mtime,
        kind=kind,
        encrypted=bool(info.flag_bits & 0x1),
        index=index,
    )


def zip_declared_entries(path: Path) -> int | None:
    """The entry count of the end-of-central-directory record, read before parsing anything
    (so a zip claiming millions of entries is refused without listing them)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        f.seek(max(0, size - 65536 - 22))
        tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return None
    (total,) = struct.unpack("<H", tail[at + 10 : at + 12])
    return None if total == 0xFFFF else total  # 0xFFFF: the count is in the zip64 record


def _open_tar(path: Path, max_entries: int) -> TarArchive:
    try:
        tf = tarfile.open(path, "r:*")  # noqa: SIM115 (kept open by TarArchive, closed there)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise TaskFailure("InvalidFile", f"The tar archive cannot be read: {exc}") from exc
    entries: list[Entry] = []
    members: list[tarfile.TarInfo] = []
    try:
        while True:
            member = tf.next()
            if member is None:
                break
            entries.append(_tar_entry(member, len(members)))
            members.append(member)
            if len(entries) > max_entries:
                raise _too_many(len(entries), max_entries, at_least=True)
    except (tarfile.TarError, EOFError, OSError) as exc:
        tf.close()
        raise TaskFailure("InvalidFile", f"The tar archive is damaged: {exc}") from exc
    except TaskFailure:
        tf.close()
        raise
    with open(path, "rb") as f:
        magic = f.read(6)
    compression = next((ext for sig, ext in _MAGIC if magic.startswith(sig)), "")
    return TarArchive(tf, members, entries, compression)


def _tar_entry(member: tarfile.TarInfo, index: int) -> Entry:
    if member.isdir():
        kind = "dir"
    elif member.issym():
        kind = "symlink"
    elif member.islnk():
        kind = "hardlink"
    elif member.ischr() or member.isblk() or member.isfifo():
        kind = "device"
    elif member.isfile():
        kind = "file"
    else:
        kind = "other"
    return Entry(
        name=member.name,
        size=member.size,
        compressed=None,
        mtime=float(member.mtime),
        kind=kind,
        index=index,
    )


def _too_many(count: int, limit: int, *, at_least: bool = False) -> TaskFailure:
    more = "more than " if at_least else ""
    return TaskFailure(
        "InvalidFile.TooManyEntries",
        f"The archive has {more}{count - 1 if at_least else count} entries; "
        f"at most {limit} are allowed.",
    )


def safe_name(name: str) -> str:
    """The entry's path, normalised (`\\` as `/`, no `.` or empty segments), or TaskFailure
    `InvalidFile.UnsafeEntry` when it is absolute or climbs out with `..` (pure)."""
    if _CONTROL.search(name):
        raise _unsafe(name, "its name contains control characters")
    path = name.replace("\\", "/")
    if path.startswith("/") or _DRIVE.match(path):
        raise _unsafe(name, "its path is absolute")
    segments = [s for s in path.split("/") if s not in ("", ".")]
    if ".." in segments:
        raise _unsafe(name, "its path contains '..'")
    if not segments:
        raise _unsafe(name, "its path is empty")
    return "/".join(segments)


def check_entry_kind(entry: Entry) -> None:
    if entry.kind in ("symlink", "hardlink"):
        raise _unsafe(entry.name, "it is a link")
    if entry.kind in ("device", "other"):
        raise _unsafe(entry.name, "it is a device or special file")


def check_limits(entries: list[Entry], archive_size: int, limits: Limits) -> None:
    """Refuse to expand archives past the entry count, total size or compression ratio (pure)."""
    if len(entries) > limits.max_entries:
        raise _too_many(len(entries), limits.max_entries)
    total = 0
    for e in entries:
        if e.is_dir:
            continue
        total += e.size
        if (
            e.compressed is not None
            and e.size > RATIO_FLOOR
            and e.size > limits.max_ratio * max(e.compressed, 1)
        ):
            raise TaskFailure(
                "InvalidFile.CompressionRatio",
                f"The entry {e.name!r} expands {e.size} bytes from {e.compressed}, more than "
                f"{limits.max_ratio} times (a zip bomb?).",
            )
    if total > limits.max_bytes:
        raise TaskFailure(
            "InvalidFile.UncompressedTooLarge",
            f"The archive expands to {total} bytes; at most {limits.max_bytes} are allowed.",
        )
    if total > RATIO_FLOOR and total > limits.max_ratio * max(archive_size, 1):
        raise TaskFailure(
            "InvalidFile.CompressionRatio",
            f"The archive expands to {total} bytes from {archive_size}, more than "
            f"{limits.max_ratio} times (a zip bomb?).",
        )


def check_names(named: list[tuple[str, bool]]) -> None:
    """Refuse entries that cannot all be extracted side by side (pure): a file held twice, a
    file that is also a directory (`dup.txt` then `dup.txt/inner.txt`, in either order), or a
    path segment longer than file systems allow. `named` holds (safe name, is directory)."""
    files: set[str] = set()
    dirs: set[str] = set()
    for name, is_dir in named:
        parts = name.split("/")
        longest = max(len(p.encode("utf-8", "surrogatepass")) for p in parts)
        if longest > NAME_MAX:
            raise _unsafe(name, f"a part of its path is {longest} bytes, more than {NAME_MAX}")
        if name in files:
            raise _unsafe(name, "the archive holds a file of this name already")
        if not is_dir and name in dirs:
            raise _unsafe(name, "the archive also holds a directory of this name")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if parent in files:
                raise _unsafe(name, f"it lies under {parent!r}, which the archive holds as a file")
            dirs.add(parent)
        (dirs if is_dir else files).add(name)


def _unsafe(name: str, why: str) -> TaskFailure:
    shown = _CONTROL.sub("?", name)[:200]
    return TaskFailure("InvalidFile.UnsafeEntry", f"The archive entry {shown!r} is refused: {why}.")


def copy_limited(src: IO[bytes], dest: Path, limit: int, name: str) -> int:
    """Copy a stream to a file, failing past `limit` bytes (the size the entry declared)."""
    written = 0
    with open(dest, "wb") as out:
        while chunk := src.read(1024 * 1024):
            written += len(chunk)
            if written > limit:
                raise TaskFailure(
                    "InvalidFile", f"The entry {name!r} holds more data than it declares."
                )
            out.write(chunk)
    return written
