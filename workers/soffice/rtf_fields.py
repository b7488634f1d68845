"""RTF fields that pull other files into a document, made inert before LibreOffice reads it.

LibreOffice 7.4's RTF import loads the file named by an `INCLUDEPICTURE` field (any path the
worker can read, or a `file:` URL) and renders it into the output: a document could copy the
server's images into its conversion. Such field instructions are emptied; the field's cached
result (`\\fldrslt`, where Word keeps the picture itself) stays, so documents written by Word
look as they did. The instruction is decoded first (`\\'49NCLUDEPICTURE`, split groups), so
spelling tricks do not hide it. Pure: bytes in, bytes out.
"""

from __future__ import annotations

import re

FLDINST = b"\\fldinst"
#: Field types that read other files or programs (Word's INCLUDE*, IMPORT, LINK, DDE).
_PULLING = re.compile(r"\b(INCLUDEPICTURE|INCLUDETEXT|INCLUDE|IMPORT|LINK|DDE|DDEAUTO)\b", re.I)
_CONTROL = re.compile(rb"\\([a-zA-Z]+)(-?\d+)? ?|\\'([0-9a-fA-F]{2})|\\(.)|([{}])", re.S)


def _group_end(data: bytes, start: int) -> int:
    """Index of the `}` closing the group that `start` lies in (or the end of the data)."""
    depth, i, n = 0, start, len(data)
    while i < n:
        ch = data[i]
        if ch == 0x5C:  # backslash: an escaped character, a control word, or \binN data
            m = re.match(rb"\\bin(\d+) ?", data[i:])
            if m:
                i += m.end() + int(m.group(1))
                continue
            i += 2
            continue
        if ch == 0x7B:
            depth += 1
        elif ch == 0x7D:
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return n


def instruction_text(raw: bytes) -> str:
    """The text of a field instruction: escapes decoded, groups and control words dropped."""
    out: list[str] = []
    pos = 0
    skip = False  # the fallback character that follows a \uN escape
    for m in _CONTROL.finditer(raw):
        text = raw[pos : m.start()].decode("latin-1")
        out.append(text[1:] if skip and text else text)
        skip = skip and not text
        word, number, hexa, symbol, _brace = m.groups()
        if hexa:
            out.append("" if skip else bytes([int(hexa, 16)]).decode("latin-1"))
            skip = False
        elif word == b"u" and number:
            out.append(chr(int(number) % 65536))
            skip = True
        elif symbol:
            out.append(symbol.decode("latin-1"))
        pos = m.end()
    text = raw[pos:].decode("latin-1")
    out.append(text[1:] if skip and text else text)
    return "".join(out)


def neutralise(data: bytes) -> tuple[bytes, int]:
    """`data` with the instructions of file-pulling fields emptied, and how many there were."""
    out = bytearray()
    i = count = 0
    while True:
        j = data.find(FLDINST, i)
        while j >= 0 and data[j + len(FLDINST) : j + len(FLDINST) + 1].isalpha():
            j = data.find(FLDINST, j + 1)  # a longer control word
        if j < 0:
            out += data[i:]
            return bytes(out), count
        start = j + len(FLDINST)
        end = _group_end(data, start)
        if _PULLING.search(instruction_text(data[start:end])):
            out += data[i:start] + b" "
            count += 1
        else:
            out += data[i:end]
        i = end
