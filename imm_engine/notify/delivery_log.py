"""Reading a task's delivery log (pure): the attempts, and where each destination stands.

The log is written by the dispatcher (one entry per attempt) and by replays; entries are
`{Time, Destination, EventId, Attempt, State, HTTPStatus, Error, LatencyMs}` with `State`
one of `Delivered`, `Failed` (to be retried), `GaveUp` (attempts exhausted, or refused by
policy) and `Replayed` (queued again by a replay).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

#: Where a destination stands, from the last log entry about it.
STANDING = {"Delivered": "Delivered", "Failed": "Retrying", "GaveUp": "GaveUp"}


def parse(raw: Iterable[bytes | str]) -> list[dict[str, Any]]:
    out = []
    for item in raw:
        try:
            entry = json.loads(item)
        except ValueError:
            continue
        if isinstance(entry, dict):
            out.append(entry)
    return out


def per_destination(
    entries: Sequence[dict[str, Any]], destinations: Sequence[str]
) -> list[dict[str, Any]]:
    """One summary per destination: `Pending` (no attempt yet, or replayed), `Retrying`,
    `Delivered` or `GaveUp`, with its attempts and the last error."""
    names = list(destinations) + sorted(
        {str(e.get("Destination")) for e in entries} - set(destinations)
    )
    out = []
    for name in names:
        mine = [e for e in entries if e.get("Destination") == name]
        attempts = [e for e in mine if e.get("State") != "Replayed"]
        last = mine[-1] if mine else {}
        out.append(
            {
                "Destination": name,
                "State": STANDING.get(str(last.get("State")), "Pending"),
                "Attempts": len(attempts),
                "LastAttemptTime": attempts[-1].get("Time", "") if attempts else "",
                "LastError": attempts[-1].get("Error", "") if attempts else "",
            }
        )
    return out


def overall(summaries: Sequence[dict[str, Any]]) -> str:
    """The worst standing of all destinations."""
    states = {s["State"] for s in summaries}
    for state in ("GaveUp", "Retrying", "Pending"):
        if state in states:
            return state
    return "Delivered"
