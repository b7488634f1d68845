"""Which signal ended soffice, from the exit status we see (workers/soffice/process.py)."""

from __future__ import annotations

import signal

import pytest

from workers.soffice.process import ending_signal

CASES = [
    # (returncode, sandboxed, signal)
    pytest.param(-signal.SIGKILL, False, signal.SIGKILL, id="killed-directly"),
    pytest.param(-signal.SIGSEGV, True, signal.SIGSEGV, id="bwrap-itself-killed"),
    pytest.param(128 + signal.SIGKILL, True, signal.SIGKILL, id="through-bwrap"),
    pytest.param(128 + signal.SIGTERM, True, signal.SIGTERM, id="terminated-through-bwrap"),
    pytest.param(128 + signal.SIGKILL, False, None, id="an-exit-status-unsandboxed"),
    pytest.param(0, True, None, id="clean-exit"),
    pytest.param(81, True, None, id="profile-restart"),
    pytest.param(128, True, None, id="128-is-no-signal"),
    pytest.param(128 + 65, True, None, id="past-the-signals"),
]  # fmt: skip


@pytest.mark.parametrize(("code", "sandboxed", "expected"), CASES)
def test_ending_signal(code: int, sandboxed: bool, expected: int | None) -> None:
    assert ending_signal(code, sandboxed) == expected
