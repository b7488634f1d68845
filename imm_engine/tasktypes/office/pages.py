"""Page selections: `Pages` (`1,2-4,7`) and `StartPage`/`EndPage` (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from imm_engine.errors import InvalidValue

MAX_PAGE = 1_000_000
MAX_RANGES = 1000
#: ASCII digits and blanks only: `\d` alone would accept "١-٣" (Arabic-Indic digits).
_RANGE = re.compile(r"\s*([0-9]+)\s*(?:-\s*([0-9]+)\s*)?", re.ASCII)


@dataclass(frozen=True)
class PageSelection:
    """Inclusive 1-based ranges; an end of None means "to the last page"."""

    ranges: tuple[tuple[int, int | None], ...]

    @property
    def everything(self) -> bool:
        return self.ranges == ((1, None),)

    @property
    def single_page(self) -> bool:
        return len(self.ranges) == 1 and self.ranges[0][0] == self.ranges[0][1]

    def resolve(self, page_count: int) -> list[int]:
        """The selected pages that exist in a document of `page_count` pages, ascending."""
        chosen: set[int] = set()
        for start, end in self.ranges:
            last = page_count if end is None else min(end, page_count)
            chosen.update(range(start, last + 1))
        return sorted(chosen)


ALL = PageSelection(((1, None),))


def parse_pages(text: str, name: str = "Pages") -> PageSelection:
    items = [p for p in text.split(",")]
    if len(items) > MAX_RANGES:
        raise InvalidValue(name, f"more than {MAX_RANGES} ranges")
    ranges: list[tuple[int, int | None]] = []
    for item in items:
        m = _RANGE.fullmatch(item)
        if not m:
            raise InvalidValue(name, f"'{item.strip()[:40]}' is not a page or a range such as 2-4")
        if max(len(g) for g in m.groups("")) > 9:  # int() of thousands of digits is slow
            raise InvalidValue(name, f"page numbers above {MAX_PAGE} are not supported")
        start = int(m.group(1))
        end = int(m.group(2)) if m.group(2) is not None else start
        if start < 1 or end < 1:
            raise InvalidValue(name, "page numbers start at 1")
        if start > MAX_PAGE or end > MAX_PAGE:
            raise InvalidValue(name, f"page numbers above {MAX_PAGE} are not supported")
        if end < start:
            raise InvalidValue(name, f"range {start}-{end} ends before it starts")
        ranges.append((start, end))
    ranges.sort()
    return PageSelection(tuple(ranges))


def from_start_end(start: int | None, end: int | None) -> PageSelection:
    """`StartPage` (default 1) to `EndPage` (default -1: the last page)."""
    first = 1 if start is None else start
    last = None if end is None or end == -1 else end
    if first < 1:
        raise InvalidValue("StartPage", "page numbers start at 1")
    if first > MAX_PAGE:
        raise InvalidValue("StartPage", f"page numbers above {MAX_PAGE} are not supported")
    if last is not None:
        if last < 1:
            raise InvalidValue("EndPage", "use -1 for the last page, or a page number from 1")
        if last < first:
            raise InvalidValue("EndPage", f"EndPage {last} is before StartPage {first}")
        last = min(last, MAX_PAGE)
    return PageSelection(((first, last),))


def to_dict(sel: PageSelection) -> list[list[int | None]]:
    return [[a, b] for a, b in sel.ranges]


def from_dict(data: list[list[int | None]]) -> PageSelection:
    return PageSelection(tuple((int(a or 1), None if b is None else int(b)) for a, b in data))
