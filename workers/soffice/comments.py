"""Comments of Word (OOXML) and OpenDocument text files, rewritten before LibreOffice opens them.

Debian's LibreOffice without GUI (the `-nogui` packages) ships no Writer dialog definitions,
and a Writer document with comments loaded over UNO aborts soffice when the comment
windows are created (`NoSuchElementException` from `InterimItemWindow`). So comments never
reach LibreOffice: without `ShowComments` they are removed; with it, each comment becomes
visible text at its anchor, `[author: text]`, highlighted, which every output shows
(images, PDF and txt). The file is edited as text, so nothing else in it changes.
"""

from __future__ import annotations

import re
import shutil
import struct
import zipfile
from pathlib import Path

import olefile

OOXML_TYPES = frozenset({"docx", "docm", "dotx", "dotm"})
ODF_TYPES = frozenset({"odt", "ott"})
#: Word 97-2003 binary files (Kingsoft WPS writes the same format under its own names).
WORD_BINARY_TYPES = frozenset({"doc", "dot", "wps", "wpss"})
_RTF_ANNOTATION = re.compile(rb"\\(?:atnid|atnref|annotation|atrfstart)\b")

_W_RANGE = re.compile(r"<w:commentRange(?:Start|End)\b[^>]*/>")
_W_REF_RUN = re.compile(
    r"<w:r(?:\s[^>]*)?>(?:(?!</w:r>).)*?<w:commentReference\b[^>]*?w:id=\"(\d+)\"[^>]*/>"
    r"(?:(?!</w:r>).)*?</w:r>",
    re.S,
)
_W_COMMENT = re.compile(r"<w:comment\b([^>]*)>(.*?)</w:comment>", re.S)
_W_TEXT = re.compile(r"<w:t(?:\s[^>]*)?>([^<]*)</w:t>")
_W_PARA_END = re.compile(r"</w:p>")
_W_ATTR = re.compile(r'w:(id|author)="([^"]*)"')
_EMPTY_W_COMMENTS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<w:comments xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>'
)

_O_ANNOTATION = re.compile(r"<office:annotation\b(?:[^>/]|/(?!>))*>(.*?)</office:annotation>", re.S)
_O_ANNOTATION_EMPTY = re.compile(r"<office:annotation\b[^>]*/>")
_O_ANNOTATION_END = re.compile(r"<office:annotation-end\b[^>]*/>")
_O_CREATOR = re.compile(r"<dc:creator>(.*?)</dc:creator>", re.S)
_O_PARA = re.compile(r"<text:p\b[^>]*>(.*?)</text:p>", re.S)
_TAG = re.compile(r"<[^>]+>")


def rewrite(src: Path, dest: Path, source_type: str, *, show: bool) -> bool:
    """Write `src` to `dest` with its comments removed (or shown as text). False, and
    nothing written, when the file has no comments or is not a package we can edit."""
    if source_type in OOXML_TYPES or (
        source_type in WORD_BINARY_TYPES and zipfile.is_zipfile(src)  # a docx named .doc
    ):
        return _rewrite_zip(src, dest, _ooxml_parts(src), lambda parts: _ooxml(parts, show))
    if source_type in ODF_TYPES:
        return _rewrite_zip(src, dest, {"content.xml"}, lambda parts: _odf(parts, show))
    return False


def _ooxml_parts(src: Path) -> set[str]:
    try:
        with zipfile.ZipFile(src) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError):
        return set()
    if "word/comments.xml" not in names:
        return set()
    return {
        n
        for n in names
        if n.startswith("word/")
        and n.endswith(".xml")
        and "/_rels/" not in n
        and (n == "word/comments.xml" or not n.startswith("word/comments"))
    }


def _rewrite_zip(src: Path, dest: Path, wanted: set[str], change: object) -> bool:
    if not wanted:
        return False
    try:
        with zipfile.ZipFile(src) as z:
            parts = {n: z.read(n).decode("utf-8") for n in wanted if n in z.namelist()}
            changed = change(parts)  # type: ignore[operator]
            if not changed:
                return False
            tmp = dest.with_suffix(dest.suffix + ".tmp")
            with zipfile.ZipFile(tmp, "w") as out:
                for info in z.infolist():
                    data = parts[info.filename].encode("utf-8") if info.filename in parts else None
                    out.writestr(info, data if data is not None else z.read(info.filename))
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError, OSError, RuntimeError):
        return False  # damaged or encrypted: LibreOffice reports it
    shutil.move(tmp, dest)
    return True


def _ooxml(parts: dict[str, str], show: bool) -> bool:
    comments: dict[str, str] = {}
    for m in _W_COMMENT.finditer(parts.get("word/comments.xml", "")):
        attrs = dict(_W_ATTR.findall(m.group(1)))
        paragraphs = _W_PARA_END.split(m.group(2))
        text = " ".join(t for t in ("".join(_W_TEXT.findall(p)).strip() for p in paragraphs) if t)
        author = attrs.get("author", "")
        comments[attrs.get("id", "")] = f"[{author}: {text}]" if author else f"[{text}]"

    def run(m: re.Match[str]) -> str:
        if not show or m.group(1) not in comments:
            return ""
        return (
            '<w:r><w:rPr><w:color w:val="C00000"/><w:highlight w:val="yellow"/></w:rPr>'
            f'<w:t xml:space="preserve"> {comments[m.group(1)]}</w:t></w:r>'
        )

    changed = False
    for name, text in list(parts.items()):
        if name == "word/comments.xml":
            continue
        new = _W_REF_RUN.sub(run, _W_RANGE.sub("", text))
        if new != text:
            parts[name] = new
            changed = True
    parts["word/comments.xml"] = _EMPTY_W_COMMENTS
    return True if comments or changed else changed


def _odf(parts: dict[str, str], show: bool) -> bool:
    content = parts.get("content.xml", "")
    if "<office:annotation" not in content:
        return False

    def note(m: re.Match[str]) -> str:
        if not show:
            return ""
        creator = _O_CREATOR.search(m.group(1))
        text = " ".join(
            t for t in (_TAG.sub("", p).strip() for p in _O_PARA.findall(m.group(1))) if t
        )
        author = _TAG.sub("", creator.group(1)).strip() if creator else ""
        label = f"[{author}: {text}]" if author else f"[{text}]"
        return f"<text:span> {label}</text:span>"

    content = _O_ANNOTATION.sub(note, content)
    content = _O_ANNOTATION_EMPTY.sub("", content)
    parts["content.xml"] = _O_ANNOTATION_END.sub("", content)
    return True


def binary_has_comments(src: Path) -> bool:
    """Whether a Word 97-2003 (or WPS) or RTF file holds comments, which LibreOffice cannot
    load over UNO (see the module's docstring) and we cannot rewrite. By content, not name:
    `.doc` files are often RTF."""
    try:
        with open(src, "rb") as f:
            head = f.read(8)
            if head.lstrip().startswith(b"{\\rtf"):
                return _RTF_ANNOTATION.search(head + f.read()) is not None
    except OSError:
        return False
    return _doc_annotations(src) > 0


def _doc_annotations(src: Path) -> int:
    """`lcbPlcfandRef` of the Word binary file's FIB: the size of its table of comment
    references (0: no comments). [MS-DOC] 2.5.1: FibBase (32 bytes), csw + FibRgW97,
    cslw + FibRgLw97, cbRgFcLcb + FibRgFcLcb97 whose 10th 32-bit field is lcbPlcfandRef."""
    try:
        if not olefile.isOleFile(str(src)):
            return 0
        with olefile.OleFileIO(str(src)) as ole:
            if not ole.exists("WordDocument"):
                return 0
            with ole.openstream("WordDocument") as stream:
                fib = stream.read(1024)
        off = 32
        (csw,) = struct.unpack_from("<H", fib, off)
        off += 2 + 2 * csw
        (cslw,) = struct.unpack_from("<H", fib, off)
        off += 2 + 4 * cslw
        (count,) = struct.unpack_from("<H", fib, off)
        off += 2
        if count < 5:
            return 0
        (lcb,) = struct.unpack_from("<I", fib, off + 9 * 4)
        return int(lcb)
    except (OSError, struct.error, ValueError):
        return 0  # damaged: LibreOffice reports it
