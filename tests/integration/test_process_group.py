"""Stopping a ProcessGroup (imm_engine/service/processes.py) with real processes: the children stop
together, so one that ignores SIGTERM (a notifier retrying a Redis that is gone) does not
delay the others' signal; the stragglers are killed; `stop_last` children (a private Redis)
get their signal only when the others are gone."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from imm_engine.service.processes import ProcessGroup

# A child that writes its pid, then ignores SIGTERM for ever.
STUBBORN = """
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
open(sys.argv[1], "w").write(str(os.getpid()))
while True:
    time.sleep(1)
"""

# A child that, on SIGTERM, writes whether the process in the pid file (argv[2]) still lives.
POLITE = """
import os, signal, sys, time
def on_term(*_):
    try:
        pid = int(open(sys.argv[2]).read())
        state = open(f"/proc/{pid}/stat").read().split(")")[1].split()[0]
        alive = state != "Z"
    except (OSError, ValueError):
        alive = False
    open(sys.argv[1], "w").write("other alive" if alive else "other gone")
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
open(sys.argv[1] + ".ready", "w").write("")
while True:
    time.sleep(1)
"""


def wait_for(path: Path) -> None:
    deadline = time.monotonic() + 30
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_children_stop_together_and_stragglers_are_killed(tmp_path: Path) -> None:
    pid_file, report = tmp_path / "stubborn.pid", tmp_path / "polite.txt"
    group = ProcessGroup()
    polite = group.spawn("polite", [sys.executable, "-c", POLITE, str(report), str(pid_file)])
    # Started last: the old reverse-order stop would have waited for it (and killed it) first.
    stubborn = group.spawn("stubborn", [sys.executable, "-c", STUBBORN, str(pid_file)])
    wait_for(pid_file)
    wait_for(Path(f"{report}.ready"))
    group.stop(grace_s=2.0)
    assert report.read_text() == "other alive"  # both signalled before anyone was killed
    assert polite.proc.returncode == 0
    assert stubborn.proc.returncode == -signal.SIGKILL


def test_stop_last_children_stop_after_the_others(tmp_path: Path) -> None:
    pid_file, report = tmp_path / "worker.pid", tmp_path / "redis.txt"
    group = ProcessGroup()
    # Started first, as `imm-engine up` starts its private Redis.
    redis_like = group.spawn(
        "redis", [sys.executable, "-c", POLITE, str(report), str(pid_file)], stop_last=True
    )
    worker_like = group.spawn("worker", [sys.executable, "-c", STUBBORN, str(pid_file)])
    wait_for(pid_file)
    wait_for(Path(f"{report}.ready"))
    group.stop(grace_s=2.0)
    assert report.read_text() == "other gone"  # the worker was gone before Redis got its signal
    assert worker_like.proc.returncode == -signal.SIGKILL
    assert redis_like.proc.returncode == 0
