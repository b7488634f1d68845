"""Progress on stderr: rich bars on a terminal, one plain line per event otherwise."""

from __future__ import annotations

from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from imm_engine.client.state import TaskState


class Reporter(Protocol):
    def add(self, state: TaskState) -> None: ...
    def update(self, state: TaskState) -> None: ...
    def note(self, text: str) -> None: ...
    def close(self) -> None: ...


def reporter(console: Console, total: int) -> Reporter:
    if console.is_terminal:
        return BarReporter(console, total)
    return LineReporter(console)


class BarReporter:
    """One bar per task (its GetTask Progress) and an overall bar (tasks finished)."""

    def __init__(self, console: Console, total: int) -> None:
        self.progress = Progress(
            TextColumn("{task.description}", justify="left"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.overall = self.progress.add_task("all", total=total, status="")
        self.bars: dict[str, TaskID] = {}
        self.finished: set[str] = set()
        self.progress.start()

    def add(self, state: TaskState) -> None:
        self.bars[state.slot] = self.progress.add_task(
            _short(state.label), total=100, status=state.status
        )

    def update(self, state: TaskState) -> None:
        bar = self.bars.get(state.slot)
        if bar is None:
            return
        done = 100 if state.ok else state.progress
        self.progress.update(bar, completed=done, status=state.status)
        if state.done and state.slot not in self.finished:
            self.finished.add(state.slot)
            self.progress.update(self.overall, completed=len(self.finished))

    def note(self, text: str) -> None:
        self.progress.console.print(text, markup=False, highlight=False)

    def close(self) -> None:
        self.progress.stop()


class LineReporter:
    """Readable logs: a line when a task is submitted, changes status or finishes."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.last: dict[str, str] = {}

    def add(self, state: TaskState) -> None:
        self.last[state.slot] = state.status

    def update(self, state: TaskState) -> None:
        if self.last.get(state.slot) == state.status:
            return
        self.last[state.slot] = state.status
        detail = f" {state.task_id}" if state.task_id else ""
        if state.status == "Failed":
            detail += f" {state.code}: {state.message}"
        self.note(f"{state.label}: {state.status}{detail}")

    def note(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def close(self) -> None:
        pass


def _short(label: str, width: int = 32) -> str:
    return label if len(label) <= width else "…" + label[-(width - 1) :]
