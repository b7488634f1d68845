"""What the CLI knows about each input of a convert run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

TERMINAL = ("Succeeded", "Failed")


@dataclass
class Output:
    uri: str
    #: Where the object is on this machine (local storage), else None.
    path: Path | None = None
    #: Where --out copied it, else None.
    copied: Path | None = None


@dataclass
class TaskState:
    label: str
    slot: str
    source_uri: str = ""
    target_prefix: str = ""
    task_id: str = ""
    #: "Uploading", "Submitted", "Running", "Succeeded", "Failed", "TimedOut"
    status: str = "Pending"
    progress: int = 0
    code: str = ""
    message: str = ""
    started: float = 0.0
    finished: float = 0.0
    #: "notification" or "polling": how the end of the task was learnt.
    completion: str = ""
    page_count: int | None = None
    outputs: list[Output] = field(default_factory=list)
    #: When polling first saw the task finished (for the notification grace period).
    polled_done_at: float = 0.0

    @property
    def done(self) -> bool:
        return self.status in (*TERMINAL, "TimedOut")

    @property
    def ok(self) -> bool:
        return self.status == "Succeeded"

    @property
    def seconds(self) -> float | None:
        if not self.started or not self.finished:
            return None
        return max(0.0, self.finished - self.started)

    def fail(self, code: str, message: str, now: float) -> None:
        self.status, self.code, self.message = "Failed", code, message
        self.finished = self.finished or now
