"""What a file really is, from its first bytes (pure).

LibreOffice's type detection is generous: random bytes named `.docx` open as a text document.
We check the content against the declared type first, so that a damaged or mislabelled file
fails with a clear code instead of converting into garbage.
"""

from __future__ import annotations

import struct
import zipfile
from enum import StrEnum
from pathlib import Path

from imm_engine.tasktypes.office.formats import PLAIN_TEXT_TYPES

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: The fixed fields of a compound file header after the magic (MS-CFB 2.2): major version 3
#: with 512-byte sectors or 4 with 4096-byte sectors, byte order FFFE, 64-byte mini sectors.
#: The magic alone followed by noise is not a compound file (LibreOffice would "convert" it).
OLE_HEADERS = (b"\x03\x00\xfe\xff\x09\x00\x06\x00", b"\x04\x00\xfe\xff\x0c\x00\x06\x00")
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
#: Stream names of an encrypted OOXML package (ECMA-376 agile/standard encryption), UTF-16LE.
ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")


class Kind(StrEnum):
    ZIP = "zip"
    OLE = "ole"
    PDF = "pdf"
    RTF = "rtf"
    TEXT = "text"
    BINARY = "binary"
    EMPTY = "empty"


def kind_of(head: bytes) -> Kind:
    if not head:
        return Kind.EMPTY
    if head.startswith(ZIP_MAGIC):
        return Kind.ZIP
    if head.startswith(OLE_MAGIC):
        return Kind.OLE if head[0x1A:0x22] in OLE_HEADERS else Kind.BINARY
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"%PDF"):
        return Kind.PDF
    if b"%PDF-" in head[:1024] and not looks_like_text(head):  # readers allow leading junk
        return Kind.PDF
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{\\rtf"):
        return Kind.RTF
    return Kind.TEXT if looks_like_text(head) else Kind.BINARY


def looks_like_text(head: bytes) -> bool:
    sample = head[:8192]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with BOM
        return True
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 4:  # cut in the middle of a character
            return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls / max(1, len(sample)) < 0.05  # legacy 8-bit text encodings


def compound_file_problem(path: Path) -> str | None:
    """Why an OLE compound file is not sound, or None: its root directory entry must exist.

    A valid header followed by noise would otherwise be opened by LibreOffice as text.
    """
    with open(path, "rb") as f:
        head = f.read(512)
        if len(head) < 0x34:
            return "the compound file header is truncated"
        shift = struct.unpack_from("<H", head, 0x1E)[0]
        if shift not in (9, 12):
            return "the compound file header has an impossible sector size"
        first_dir = struct.unpack_from("<I", head, 0x30)[0]
        offset = (first_dir + 1) << shift
        f.seek(offset)
        entry = f.read(128)
    if len(entry) < 128:
        return "its directory lies past the end of the file"
    name_length = struct.unpack_from("<H", entry, 0x40)[0]
    if entry[0x42] != 5 or name_length > 64 or name_length % 2:  # 5: the root storage
        return "its directory has no root entry"
    return None


#: A zip package (OOXML, ODF, EPUB) may expand to this much in total...
MAX_UNZIPPED_BYTES = 2 * 1024**3
#: ...and no member may expand more than this ratio once it is above MAX_RATIO_FLOOR bytes.
MAX_RATIO = 200
MAX_RATIO_FLOOR = 100 * 1024**2
MAX_MEMBERS = 100_000


def zip_problem(path: Path) -> str | None:
    """Why a zip package would expand beyond reason (a zip bomb), or None.

    Sizes come from the central directory; a package that lies about them is damaged and
    LibreOffice refuses it. One Python cannot read at all is left to LibreOffice to judge.
    """
    try:
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    if len(members) > MAX_MEMBERS:
        return f"the package has more than {MAX_MEMBERS} parts"
    total = sum(m.file_size for m in members)
    if total > MAX_UNZIPPED_BYTES:
        return f"the package expands to {total} bytes, above {MAX_UNZIPPED_BYTES}"
    for m in members:
        if m.file_size > MAX_RATIO_FLOOR and m.file_size > MAX_RATIO * max(1, m.compress_size):
            return f"the part {m.filename[:80]} expands {m.file_size // max(1, m.compress_size)}x"
    return None


#: XML parts may always expand to this much, whatever the file's size.
MIN_XML_BYTES = 32 * 1024**2
XML_SUFFIXES = (".xml", ".rels", ".vml", ".svg", ".xhtml", ".opf", ".ncx", ".html")


def xml_expansion_problem(path: Path, max_ratio: int) -> str | None:
    """Why the XML parts of a zip package expand beyond reason for its size, or None.

    LibreOffice builds a model of every element it reads: a table of 100,000 rows packed
    into a few hundred KB becomes gigabytes of memory. The XML parts together may expand to
    `max_ratio` times the file's size (and at least MIN_XML_BYTES); 0 turns this off."""
    if not max_ratio:
        return None
    try:
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    xml = sum(m.file_size for m in members if m.filename.lower().endswith(XML_SUFFIXES))
    allowed = max(MIN_XML_BYTES, max_ratio * path.stat().st_size)
    if xml > allowed:
        return (
            f"its XML parts expand to {xml // 1024**2} MiB, more than {max_ratio} times the "
            f"file's size (IMM_MAX_XML_RATIO)"
        )
    return None


def is_encrypted_ooxml(path: Path) -> bool:
    """An OLE container holding an encrypted Office Open XML package."""
    with open(path, "rb") as f:
        head = f.read(8)
        if head != OLE_MAGIC:
            return False
        data = f.read(4 * 1024 * 1024)
    return ENCRYPTED_PACKAGE in data and ENCRYPTION_INFO in data


#: Which real kinds each declared source type may have. Legacy binary types may also be
#: RTF, HTML or text (many systems write those with .doc/.xls names); OOXML and ODF are zips.
_ZIP_TYPES = {
    "docx", "docm", "dotx", "dotm", "xlsx", "xlsm", "xltx", "xltm", "xlsb", "pptx", "pptm",
    "potx", "potm", "ppsx", "ppsm", "odt", "ott", "ods", "ots", "odp", "otp", "epub",
}  # fmt: skip
_OLE_TYPES = {
    "doc", "dot", "wps", "wpss", "xls", "xlt", "et", "ett", "ets", "ppt", "pot", "pps",
    "dps", "dpt", "dpss",
}  # fmt: skip
_TEXT_TYPES = {"txt", "csv", "html", "htm", "rtf"} | PLAIN_TEXT_TYPES


def mismatch(declared: str, kind: Kind) -> str | None:
    """Why content of `kind` cannot be a `declared` file, or None when it may be."""
    if kind == Kind.EMPTY:
        return "the file is empty"
    if declared in _ZIP_TYPES:
        # Encrypted OOXML is an OLE container; WPS/Kingsoft also writes OLE under x-names.
        ok = kind in (Kind.ZIP, Kind.OLE)
    elif declared in _OLE_TYPES:
        ok = kind in (Kind.OLE, Kind.ZIP, Kind.RTF, Kind.TEXT)
    elif declared in _TEXT_TYPES:
        ok = kind in (Kind.TEXT, Kind.RTF)
    elif declared == "pdf":
        ok = kind == Kind.PDF
    else:
        ok = True
    return None if ok else f"its content ({kind}) is not that of a .{declared} file"
