"""Links to other files and URLs taken out of a document before LibreOffice loads it.

Defence in depth behind the sandbox (workers/isolation/sandbox.py), which is what makes such links
harmless: inside it there is nothing to read and no network. Here the task's private copy
loses what would make LibreOffice look outside the document at all:

* pictures inside zip packages (OOXML, ODF) that are SVG: `href`/`xlink:href` to anything
  but a fragment (`#id`) or inline `data:`; LibreOffice's SVG importer loads `<image>`
  targets, PDF pages included;
* OOXML relationships with `TargetMode="External"` other than hyperlinks (linked pictures,
  OLE links, attached templates, frames, external workbooks): removed;
* OOXML field instructions that pull files in (INCLUDEPICTURE, INCLUDETEXT, LINK, DDE...):
  emptied, as workers/soffice/rtf_fields.py does for RTF;
* ODF (zipped or flat XML) elements that load their `xlink:href` (images, objects, frames,
  section and table sources, fill and bullet images) when it names a scheme, an absolute
  path or a parent directory. Hyperlinks (`text:a`, `draw:a`) are kept: they are never
  fetched.

Pure functions over bytes plus `strip_package`/`strip_flat`, which rewrite a file in place.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

from workers.soffice.rtf_fields import _PULLING

#: A reference leaving the document: a URL scheme (not data:), an absolute or UNC path, `..`.
_OUTSIDE = re.compile(r"^\s*(?!data:)(?:[a-zA-Z][a-zA-Z0-9+.-]*:|[/\\]|\.\.)")
_SVG_HREF = re.compile(r"""(\s(?:[\w-]+:)?href\s*=\s*)(["'])(.*?)\2""", re.S)
_REL = re.compile(r"<Relationship\b[^>]*?/>|<Relationship\b.*?</Relationship>", re.S)
_INSTR = re.compile(r"(<w:instrText\b[^>]*>)(.*?)(</w:instrText>)|(\bw:instr=)([\"'])(.*?)\5", re.S)
#: ODF elements whose xlink:href LibreOffice loads (not merely shows as a link).
_ODF_LOADING = (
    "draw:image", "draw:object", "draw:object-ole", "draw:plugin", "draw:floating-frame",
    "draw:applet", "draw:fill-image", "style:background-image", "text:list-level-style-image",
    "text:section-source", "table:table-source", "table:cell-range-source", "svg:font-face-uri",
    "office:dde-source", "presentation:sound", "draw:marker", "draw:hatch",
)  # fmt: skip
_ODF_ELEMENT = re.compile("<(" + "|".join(re.escape(e) for e in _ODF_LOADING) + r")\b[^>]*>")
_XLINK = re.compile(r"""(\bxlink:href\s*=\s*)(["'])(.*?)\2""", re.S)


def outside(ref: str) -> bool:
    """Whether a reference points outside the document."""
    return bool(_OUTSIDE.match(ref))


def svg(text: str) -> tuple[str, int]:
    count = 0

    def cut(m: re.Match[str]) -> str:
        nonlocal count
        if not outside(m.group(3)):
            return m.group(0)
        count += 1
        return f"{m.group(1)}{m.group(2)}#{m.group(2)}"

    return _SVG_HREF.sub(cut, text), count


def relationships(text: str) -> tuple[str, int]:
    count = 0

    def cut(m: re.Match[str]) -> str:
        nonlocal count
        rel = m.group(0)
        if not re.search(r"""TargetMode\s*=\s*["']External["']""", rel):
            return rel
        if re.search(r"""Type\s*=\s*["'][^"']*/hyperlink["']""", rel):
            return rel  # a hyperlink is shown, never fetched
        count += 1
        return ""

    return _REL.sub(cut, text), count


def ooxml_fields(text: str) -> tuple[str, int]:
    count = 0

    def cut(m: re.Match[str]) -> str:
        nonlocal count
        if m.group(1) is not None:
            if not _PULLING.search(m.group(2)):
                return m.group(0)
            count += 1
            return f"{m.group(1)} {m.group(3)}"
        if not _PULLING.search(m.group(6)):
            return m.group(0)
        count += 1
        return f"{m.group(4)}{m.group(5)} {m.group(5)}"

    return _INSTR.sub(cut, text), count


def odf(text: str) -> tuple[str, int]:
    count = 0

    def element(m: re.Match[str]) -> str:
        def href(h: re.Match[str]) -> str:
            nonlocal count
            if not outside(h.group(3)):
                return h.group(0)
            count += 1
            return f"{h.group(1)}{h.group(2)}{h.group(2)}"

        return _XLINK.sub(href, m.group(0))

    return _ODF_ELEMENT.sub(element, text), count


def _member(name: str, data: bytes) -> tuple[bytes, int]:
    lower = name.lower()
    if lower.endswith(".svg"):
        rules = [svg]
    elif lower.endswith(".rels"):
        rules = [relationships]
    elif lower.endswith(".xml"):
        rules = [odf, ooxml_fields]
    else:
        return data, 0
    text = data.decode("utf-8", errors="surrogateescape")
    total = 0
    for rule in rules:
        text, count = rule(text)
        total += count
    if not total:
        return data, 0
    return text.encode("utf-8", errors="surrogateescape"), total


def strip_package(path: Path) -> int:
    """Rewrite the zip package at `path` without its outside references; how many went.
    A package Python cannot read is left alone (LibreOffice judges it)."""
    try:
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
            changed: dict[str, bytes] = {}
            total = 0
            for m in members:
                lower = m.filename.lower()
                if not lower.endswith((".svg", ".rels", ".xml")):
                    continue
                data, count = _member(m.filename, z.read(m))
                if count:
                    changed[m.filename] = data
                    total += count
            if not total:
                return 0
            tmp = path.with_name(path.name + ".stripped")
            with zipfile.ZipFile(tmp, "w") as out:
                for m in members:
                    out.writestr(m, changed.get(m.filename) or z.read(m))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return 0
    shutil.move(tmp, path)
    return total


def strip_flat(path: Path) -> int:
    """A flat XML ODF document (what LibreOffice sniffs in a .doc or .xml): same rules."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if b"urn:oasis:names:tc:opendocument" not in head and b"<office:document" not in head:
        return 0
    data, count = _member("flat.xml", path.read_bytes())
    if count:
        path.write_bytes(data)
    return count
