"""Text output of office conversion (pure)."""

from __future__ import annotations

import re
import unicodedata

_WIDE = ("W", "F")


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in _WIDE


def flow(text: str, hold_line_feed: bool) -> str:
    """Page text as IMM writes it.

    With `HoldLineFeed` the line breaks of the layout are kept. Without it, lines are joined:
    by nothing between two CJK characters (which use no spaces), by one space otherwise.
    Paragraph breaks (an empty line) survive as a single line feed either way.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if hold_line_feed:
        return text.strip("\n") + "\n" if text.strip() else ""
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    out = []
    for para in paragraphs:
        lines = [ln.strip() for ln in para.split("\n") if ln.strip()]
        joined = lines[0] if lines else ""
        for line in lines[1:]:
            if joined and _is_wide(joined[-1]) and _is_wide(line[0]):
                joined += line
            else:
                joined += " " + line
        out.append(joined)
    return "\n".join(out) + ("\n" if out else "")
