"""The end-of-run summary of `imm-engine convert`: table rows and the --json document (pure)."""

from __future__ import annotations

import re
from typing import Any

from imm_engine.client.state import TaskState


def natural_key(text: str) -> list[Any]:
    """`2.png` before `10.png`."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def completion_mode(states: list[TaskState]) -> str:
    """How this run learnt that its tasks ended: notification, polling, mixed or none."""
    modes = {s.completion for s in states if s.completion}
    if not modes:
        return "none"
    return modes.pop() if len(modes) == 1 else "mixed"


def seconds_text(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds:.1f}s"


def output_lines(state: TaskState) -> list[str]:
    """Where the outputs are: the oss:// prefix, the local folder, the --out copy."""
    if not state.outputs:
        return [state.target_prefix] if state.ok and state.target_prefix else []
    count = len(state.outputs)
    lines = [f"{state.target_prefix}  ({count} object{'s' if count != 1 else ''})"]
    local = state.outputs[0].path
    if local is not None:
        lines.append(str(local.parent if count > 1 else local))
    copied = state.outputs[0].copied
    if copied is not None:
        lines.append(f"copied to {copied.parent if count > 1 else copied}")
    return lines


def row(state: TaskState) -> list[str]:
    """Input, Status, Pages, Time, Outputs / error."""
    if state.ok:
        detail = "\n".join(output_lines(state))
    else:
        detail = f"{state.code}: {state.message}" if state.code else state.message
    pages = "" if state.page_count is None else str(state.page_count)
    return [state.label, state.status, pages, seconds_text(state.seconds), detail]


HEADERS = ["Input", "Status", "Pages", "Time", "Outputs / error"]


def document(run_id: str, project: str, states: list[TaskState]) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "project": project,
        "completion": completion_mode(states),
        "succeeded": sum(1 for s in states if s.ok),
        "failed": sum(1 for s in states if not s.ok),
        "results": [result(s) for s in states],
    }


def result(s: TaskState) -> dict[str, Any]:
    return {
        "input": s.label,
        "source_uri": s.source_uri,
        "task_id": s.task_id,
        "status": s.status,
        "code": s.code,
        "message": s.message,
        "page_count": s.page_count,
        "seconds": None if s.seconds is None else round(s.seconds, 3),
        "completion": s.completion,
        "target_prefix": s.target_prefix,
        "outputs": [
            {
                "uri": o.uri,
                "path": None if o.path is None else str(o.path),
                "copied": None if o.copied is None else str(o.copied),
            }
            for o in s.outputs
        ],
    }
