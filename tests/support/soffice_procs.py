"""Find a worker's soffice.bin in /proc by a string of its command line (its private pipe
name or profile path), and wait for processes to come and go. For fault-injection tests."""

from __future__ import annotations

import time
from pathlib import Path

#: What stands between a worker and its soffice.bin (workers/isolation/sandbox.py).
WRAPPERS = ("bwrap", "setpriv", "prlimit")


def find_soffice(marker: str) -> list[int]:
    """Pids of live soffice.bin processes whose command line contains `marker` (not the
    sandbox's wrappers, whose command lines hold it too)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if comm == "soffice.bin" and marker in cmdline and state not in ("Z", "X"):
            pids.append(int(entry.name))
    return sorted(pids)


def wait_soffice(marker: str, *, other_than: int | None = None, timeout: float = 60.0) -> int:
    """The one soffice matching `marker` (a new one when `other_than` is given)."""
    deadline = time.monotonic() + timeout
    while True:
        pids = [p for p in find_soffice(marker) if p != other_than]
        if len(pids) == 1:
            return pids[0]
        assert time.monotonic() < deadline, f"soffice {marker!r}: found {pids}"
        time.sleep(0.05)


def gone(pid: int) -> bool:
    """True when `pid` no longer runs (exited, or a zombie not reaped yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


def state_of(pid: int) -> str:
    """The process state letter (`T` when stopped by SIGSTOP)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def freeze(pid: int, timeout: float = 10.0) -> None:
    """SIGSTOP `pid` and wait until it is stopped: a real hang."""
    import os
    import signal

    os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + timeout
    while state_of(pid) != "T":
        assert time.monotonic() < deadline, f"pid {pid} did not stop"
        time.sleep(0.01)


def parent_of(pid: int) -> int:
    """The process that started `pid` (a worker's soffice.bin: the Celery pool process that
    owns it), past the sandbox's wrappers."""
    parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    while Path(f"/proc/{parent}/comm").read_text().strip() in WRAPPERS:
        parent = int(Path(f"/proc/{parent}/stat").read_text().rsplit(")", 1)[1].split()[1])
    return parent
