"""Page selections (imm_engine/tasktypes/office/pages.py): `Pages`, `StartPage`/`EndPage`
(spec 2.1)."""

from __future__ import annotations

import pytest

from imm_engine.errors import InvalidValue
from imm_engine.tasktypes.office import pages
from imm_engine.tasktypes.office.pages import PageSelection

# --- parse_pages -------------------------------------------------------------------------

PARSED = [
    # (text, ranges after sorting)
    pytest.param("1,2-4,7", ((1, 1), (2, 4), (7, 7)), id="doc-example"),
    pytest.param("1,2", ((1, 1), (2, 2)), id="doc-example-2"),
    pytest.param("5", ((5, 5),), id="single"),
    pytest.param(" 1 , 2 - 4 ,\t7 ", ((1, 1), (2, 4), (7, 7)), id="spaces-and-tabs"),
    pytest.param("7,1,3-4", ((1, 1), (3, 4), (7, 7)), id="sorted"),
    pytest.param("3-3", ((3, 3),), id="one-page-range"),
    pytest.param("1-3,2-5", ((1, 3), (2, 5)), id="overlap-kept"),
    pytest.param("2,2", ((2, 2), (2, 2)), id="duplicate-kept"),
    pytest.param("1000000", ((1_000_000, 1_000_000),), id="max-page"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "ranges"), PARSED)
def test_parse_pages(text: str, ranges: tuple[tuple[int, int], ...]) -> None:
    assert pages.parse_pages(text).ranges == ranges


REFUSED = [
    # (text, fragment)
    pytest.param("", "is not a page or a range", id="empty"),
    pytest.param("1,,2", "is not a page or a range", id="empty-item"),
    pytest.param("1,", "is not a page or a range", id="trailing-comma"),
    pytest.param("a", "'a' is not a page", id="letters"),
    pytest.param("1;2", "is not a page or a range", id="semicolon"),
    pytest.param("-1", "is not a page or a range", id="negative"),
    pytest.param("3-", "is not a page or a range", id="open-end"),
    pytest.param("-3", "is not a page or a range", id="open-start"),
    pytest.param("1-2-3", "is not a page or a range", id="double-range"),
    pytest.param("1.5", "is not a page or a range", id="decimal"),
    pytest.param("0", "page numbers start at 1", id="zero"),
    pytest.param("0-3", "page numbers start at 1", id="zero-start"),
    pytest.param("2-0", "page numbers start at 1", id="zero-end"),
    pytest.param("4-2", "range 4-2 ends before it starts", id="reversed"),
    pytest.param("1000001", "above 1000000", id="beyond-max"),
    pytest.param("1-1000001", "above 1000000", id="range-beyond-max"),
    pytest.param(",".join(["1"] * 1001), "more than 1000 ranges", id="too-many-ranges"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "fragment"), REFUSED)
def test_parse_pages_refuses(text: str, fragment: str) -> None:
    with pytest.raises(InvalidValue) as err:
        pages.parse_pages(text)
    assert err.value.code == "InvalidArgument"
    assert err.value.message.startswith("The parameter Pages is invalid: ")
    assert fragment in err.value.message


def test_parse_pages_accepts_exactly_max_ranges() -> None:
    assert len(pages.parse_pages(",".join(["1"] * 1000)).ranges) == 1000


# --- from_start_end ----------------------------------------------------------------------

START_END = [
    # (StartPage, EndPage, ranges, everything)
    pytest.param(None, None, ((1, None),), True, id="defaults-everything"),
    pytest.param(1, -1, ((1, None),), True, id="explicit-defaults"),
    pytest.param(None, -1, ((1, None),), True, id="end-minus-one"),
    pytest.param(3, None, ((3, None),), False, id="from-3-to-last"),
    pytest.param(3, -1, ((3, None),), False, id="from-3-minus-one"),
    pytest.param(None, 5, ((1, 5),), False, id="first-5"),
    pytest.param(2, 4, ((2, 4),), False, id="2-to-4"),
    pytest.param(4, 4, ((4, 4),), False, id="single"),
    pytest.param(1, 2_000_000, ((1, 1_000_000),), False, id="end-clamped"),
]  # fmt: skip


@pytest.mark.parametrize(("start", "end", "ranges", "everything"), START_END)
def test_from_start_end(
    start: int | None, end: int | None, ranges: tuple[tuple[int, int | None]], everything: bool
) -> None:
    sel = pages.from_start_end(start, end)
    assert sel.ranges == ranges
    assert sel.everything is everything


START_END_REFUSED = [
    # (StartPage, EndPage, parameter named, fragment)
    pytest.param(0, None, "StartPage", "page numbers start at 1", id="start-zero"),
    pytest.param(-1, None, "StartPage", "page numbers start at 1", id="start-negative"),
    pytest.param(1_000_001, None, "StartPage", "above 1000000", id="start-too-big"),
    pytest.param(1, 0, "EndPage", "use -1 for the last page", id="end-zero"),
    pytest.param(1, -2, "EndPage", "use -1 for the last page", id="end-minus-two"),
    pytest.param(5, 3, "EndPage", "EndPage 3 is before StartPage 5", id="reversed"),
]  # fmt: skip


@pytest.mark.parametrize(("start", "end", "name", "fragment"), START_END_REFUSED)
def test_from_start_end_refuses(start: int, end: int | None, name: str, fragment: str) -> None:
    with pytest.raises(InvalidValue) as err:
        pages.from_start_end(start, end)
    assert err.value.code == "InvalidArgument"
    assert err.value.message.startswith(f"The parameter {name} is invalid: ")
    assert fragment in err.value.message


# --- resolve, single_page --------------------------------------------------------------

RESOLVED = [
    # (selection, page count, pages)
    pytest.param(pages.ALL, 3, [1, 2, 3], id="all"),
    pytest.param(pages.ALL, 0, [], id="all-of-nothing"),
    pytest.param(pages.parse_pages("1,2-4,7"), 10, [1, 2, 3, 4, 7], id="doc-example"),
    pytest.param(pages.parse_pages("1,2-4,7"), 3, [1, 2, 3], id="past-the-end-dropped"),
    pytest.param(pages.parse_pages("5-9"), 3, [], id="wholly-past-the-end"),
    pytest.param(pages.parse_pages("1-3,2-5"), 10, [1, 2, 3, 4, 5], id="overlap-deduplicated"),
    pytest.param(pages.parse_pages("3,1"), 5, [1, 3], id="ascending"),
    pytest.param(pages.from_start_end(3, None), 5, [3, 4, 5], id="open-end"),
    pytest.param(pages.from_start_end(2, 200), 4, [2, 3, 4], id="end-past-the-end"),
]  # fmt: skip


@pytest.mark.parametrize(("sel", "count", "expected"), RESOLVED)
def test_resolve(sel: PageSelection, count: int, expected: list[int]) -> None:
    assert sel.resolve(count) == expected


@pytest.mark.parametrize(
    ("sel", "single"),
    [
        pytest.param(pages.parse_pages("3"), True, id="one-page"),
        pytest.param(pages.parse_pages("3-3"), True, id="one-page-range"),
        pytest.param(pages.from_start_end(2, 2), True, id="start-equals-end"),
        pytest.param(pages.parse_pages("3,4"), False, id="two-pages"),
        pytest.param(pages.parse_pages("3-4"), False, id="range"),
        pytest.param(pages.from_start_end(2, None), False, id="open-end"),
        pytest.param(pages.ALL, False, id="all"),
    ],
)
def test_single_page(sel: PageSelection, single: bool) -> None:
    assert sel.single_page is single


@pytest.mark.parametrize(
    "sel",
    [pages.ALL, pages.parse_pages("1,2-4,7"), pages.from_start_end(3, None)],
    ids=["all", "list", "open-end"],
)
def test_dict_round_trip(sel: PageSelection) -> None:
    assert pages.from_dict(pages.to_dict(sel)) == sel
