"""What every sender is (`Sender`) and the helpers they share to report an attempt."""

from __future__ import annotations

import time
from typing import Protocol

from imm_engine.notify.routes import Destination
from imm_engine.notify.webhook import Outcome


class Sender(Protocol):
    def send(
        self, dest: Destination, body: bytes, event_id: str, task_id: str, attempt: int
    ) -> Outcome: ...


def elapsed_ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def failure(exc: BaseException, started: float, *, permanent: bool = False) -> Outcome:
    return Outcome(
        False,
        error=f"{type(exc).__name__}: {exc}"[:300],
        permanent=permanent,
        elapsed_ms=elapsed_ms(started),
    )
