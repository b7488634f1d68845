"""Telling "the process hit its memory bound" from "the process crashed".

Under RLIMIT_DATA (workers/isolation/sandbox.py) an allocation past the bound fails: LibreOffice
throws `std::bad_alloc` (and usually aborts), ffmpeg reports ENOMEM. Either way the process
leaves last words on stderr and, while it grew, its `VmData` in /proc came close to the
bound. A `MemoryWatch` samples the peak while the process works; `hit` says whether the
failure was the bound: the peak reached `NEAR` of it, or stderr names an allocation failure.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from imm_engine.errors import TaskFailure

CODE = "InvalidFile.MemoryLimitExceeded"
#: A peak at this share of the bound counts as having hit it (the last allocation, which
#: failed, is not in the sample).
NEAR = 0.85
#: What allocation failures leave on stderr (LibreOffice's C++ runtime, ffmpeg, glibc).
LAST_WORDS = (b"bad_alloc", b"Cannot allocate memory", b"Out of memory", b"out of memory")


def descendant(pid: int, comm: str) -> int | None:
    """The first process named `comm` among `pid` and its descendants (bwrap forks)."""
    todo = [pid]
    while todo:
        current = todo.pop(0)
        try:
            with open(f"/proc/{current}/comm", encoding="utf-8") as f:
                if f.read().strip() == comm:
                    return current
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="utf-8") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            continue
    return None


def vm_sizes(pid: int) -> tuple[int, int]:
    """VmData and VmHWM (peak RSS) of a process in bytes (0, 0 when it is gone)."""
    sizes = {"VmData:": 0, "VmHWM:": 0}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                key = line.split(maxsplit=1)[0] if line.strip() else ""
                if key in sizes:
                    sizes[key] = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return sizes["VmData:"], sizes["VmHWM:"]


class MemoryWatch:
    """Samples the VmData of the process `pid_of` returns, every `interval_s`, until stopped."""

    def __init__(
        self,
        pid_of: Callable[[], int | None],
        limit_bytes: int,
        log: Path | None = None,
        interval_s: float = 0.1,
    ) -> None:
        self.pid_of = pid_of
        self.limit = limit_bytes
        self.log = log
        self.offset = _size(log)
        self.peak = 0
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="memwatch")

    def __enter__(self) -> MemoryWatch:
        if self.limit:
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)

    def _run(self) -> None:
        pid: int | None = None
        while not self._stop.is_set():
            pid = pid or self.pid_of()
            if pid:
                data, rss = vm_sizes(pid)
                self.peak = max(self.peak, data)
                self.peak_rss = max(self.peak_rss, rss)
            self._stop.wait(0.1)

    def hit(self, stderr: bytes = b"") -> bool:
        """Whether the work that just failed ran into the bound."""
        if not self.limit:
            return False
        self.stop()
        if self.peak >= NEAR * self.limit:
            return True
        said = stderr + _tail(self.log, self.offset)
        return any(words in said for words in LAST_WORDS)

    def failure(self, what: str) -> TaskFailure:
        return exceeded(what, self.limit)


def exceeded(what: str, limit_bytes: int) -> TaskFailure:
    """The failure of a document whose processing hit the memory bound (not retried)."""
    return TaskFailure(
        CODE,
        f"{what} needs more than the {limit_bytes // 1024**2} MiB of memory a process may use "
        "(IMM_MAX_PROCESS_MEMORY).",
    )


def _size(path: Path | None) -> int:
    try:
        return path.stat().st_size if path else 0
    except OSError:
        return 0


def _tail(path: Path | None, offset: int) -> bytes:
    if path is None:
        return b""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(1 << 20)
    except OSError:
        return b""
