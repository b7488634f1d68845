"""Running several processes as one service: start, watch, stop in order.

Children run in their own sessions (a Ctrl-C at the terminal reaches only us, so we choose
the order of shutdown) and under `setpriv --pdeathsig TERM` where available (if we are
killed outright, they still stop).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

log = logging.getLogger("imm_engine")


#: Seconds the children of one stop wave get before they are killed (docker/compose.yaml's
#: stop_grace_period for the worker is above this).
STOP_GRACE_S = 30.0


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    stop_signal: int = signal.SIGTERM
    #: Stopped after all the others (what they need while they stop: a private Redis).
    stop_last: bool = False


class ProcessGroup:
    def __init__(self) -> None:
        self.children: list[Child] = []
        self._stopping = False

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        stop_signal: int = signal.SIGTERM,
        stop_last: bool = False,
    ) -> Child:
        args = list(argv)
        setpriv = shutil.which("setpriv")
        if setpriv:
            args = [setpriv, "--pdeathsig", "TERM", "--", *args]
        proc = subprocess.Popen(
            args, env=dict(env) if env is not None else None, start_new_session=True
        )
        child = Child(name, proc, stop_signal, stop_last)
        self.children.append(child)
        log.debug("started %s (pid %d)", name, proc.pid)
        return child

    def wait(self) -> int:
        """Block until a signal asks us to stop or a child exits; then stop all. Exit code."""
        received: list[int] = []

        def on_signal(signum: int, _frame: object) -> None:
            received.append(signum)

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, on_signal)
        code = 0
        while not received:
            dead = next((c for c in self.children if c.proc.poll() is not None), None)
            if dead is not None:
                print(
                    f"imm-engine: {dead.name} exited with status {dead.proc.returncode}; stopping",
                    file=sys.stderr,
                )
                code = dead.proc.returncode or 1
                break
            time.sleep(0.2)
        self.stop()
        return code

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop the children together, then those marked `stop_last`; each wave gets `grace_s`
        before its stragglers are killed, so stopping is bounded (a notifier retrying a Redis
        that went away first must not add its own wait to Celery's)."""
        if self._stopping:
            return
        self._stopping = True
        self._stop_together([c for c in self.children if not c.stop_last], grace_s)
        self._stop_together([c for c in self.children if c.stop_last], grace_s)

    def _stop_together(self, children: list[Child], grace_s: float) -> None:
        for child in children:
            if child.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    child.proc.send_signal(child.stop_signal)
        deadline = time.monotonic() + grace_s
        for child in children:
            try:
                child.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0f s: killing it", child.name, grace_s)
                child.proc.kill()
                child.proc.wait()


def python_argv(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def child_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env
