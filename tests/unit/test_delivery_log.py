"""Where each destination of a task's event stands, from its delivery log (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from imm_engine.notify.delivery_log import overall, parse, per_destination


def e(dest: str, state: str, attempt: int, error: str = "") -> dict[str, Any]:
    return {"Time": f"t{attempt}", "Destination": dest, "State": state, "Attempt": attempt,
            "Error": error}  # fmt: skip


CASES = [
    # (log, destinations, expected (destination, state, attempts, last error) rows, overall)
    pytest.param([], ["a"], [("a", "Pending", 0, "")], "Pending", id="not-tried-yet"),
    pytest.param([e("a", "Delivered", 1)], ["a"], [("a", "Delivered", 1, "")], "Delivered",
                 id="delivered-first-time"),
    pytest.param([e("a", "Failed", 1, "HTTP 500")], ["a"], [("a", "Retrying", 1, "HTTP 500")],
                 "Retrying", id="retrying"),
    pytest.param([e("a", "Failed", 1, "x"), e("a", "GaveUp", 2, "y")], ["a"],
                 [("a", "GaveUp", 2, "y")], "GaveUp", id="gave-up"),
    pytest.param([e("a", "GaveUp", 1, "y"), e("a", "Replayed", 0)], ["a"],
                 [("a", "Pending", 1, "y")], "Pending", id="replayed-not-sent-yet"),
    pytest.param([e("a", "GaveUp", 1, "y"), e("a", "Replayed", 0), e("a", "Delivered", 1)],
                 ["a"], [("a", "Delivered", 2, "")], "Delivered", id="replayed-and-delivered"),
    pytest.param([e("a", "Delivered", 1), e("b", "Failed", 1, "z")], ["a", "b"],
                 [("a", "Delivered", 1, ""), ("b", "Retrying", 1, "z")], "Retrying",
                 id="worst-destination-wins"),
    pytest.param([e("old", "Delivered", 1)], ["a"],
                 [("a", "Pending", 0, ""), ("old", "Delivered", 1, "")], "Pending",
                 id="destination-no-longer-configured-is-still-shown"),
]  # fmt: skip


@pytest.mark.parametrize(("entries", "destinations", "rows", "state"), CASES)
def test_per_destination(
    entries: list[dict[str, Any]],
    destinations: list[str],
    rows: list[tuple[str, str, int, str]],
    state: str,
) -> None:
    summaries = per_destination(entries, destinations)
    assert [
        (s["Destination"], s["State"], s["Attempts"], s["LastError"]) for s in summaries
    ] == rows
    assert overall(summaries) == state


def test_parse_skips_what_is_not_an_entry() -> None:
    assert parse([b'{"State": "Delivered"}', b"not json", "[1]", '{"State": "Failed"}']) == [
        {"State": "Delivered"},
        {"State": "Failed"},
    ]
