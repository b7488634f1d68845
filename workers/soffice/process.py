"""One long-lived soffice process: start, connect over a UNO pipe, warm up, stop.

soffice.bin is started directly (not through the `soffice` shell wrapper) under
`setpriv --pdeathsig KILL`, so it dies with the worker process that owns it, whatever kills
that process. Each process gets its own user profile, reused across restarts (a warm profile
starts faster), locked so no two live processes share one.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import IO, Any

from workers.soffice.bridge import import_uno, prop

log = logging.getLogger("imm_engine.soffice")

DEFAULT_BINARY = "/usr/lib/libreoffice/program/soffice.bin"

#: Profile settings: never run macros, never fetch linked content, no lock files. Every
#: http, https and ftp fetch goes through a proxy that does not exist (the discard port on
#: loopback, for every host: no exceptions): a document's stylesheet, image or frame links
#: can never make the server connect anywhere (SSRF). See docs/api-behaviour.md.
# ruff: noqa: E501
REGISTRY = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseLocking" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetProxyType" oor:op="fuse"><value>2</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetNoProxy" oor:op="fuse"><value></value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetHTTPProxyName" oor:op="fuse"><value>127.0.0.1</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetHTTPProxyPort" oor:op="fuse"><value>9</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetHTTPSProxyName" oor:op="fuse"><value>127.0.0.1</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetHTTPSProxyPort" oor:op="fuse"><value>9</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetFTPProxyName" oor:op="fuse"><value>127.0.0.1</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetFTPProxyPort" oor:op="fuse"><value>9</value></prop></item>
</oor:items>
"""


class StartFailed(RuntimeError):
    pass


class RestartRequested(StartFailed):
    """soffice exits with status 81 after it initialised a new profile: start it again."""


EXIT_RESTART = 81


def find_binary(configured: str) -> str:
    for candidate in (
        configured,
        DEFAULT_BINARY,
        shutil.which("soffice.bin") or "",
        shutil.which("soffice") or "",
    ):
        if candidate and os.path.exists(candidate):
            return candidate
    raise StartFailed("LibreOffice is not installed (soffice.bin not found); run `make deps`")


class ProfileSlot:
    """A user-profile directory held under an exclusive lock for this process's lifetime."""

    def __init__(self, base: Path) -> None:
        base.mkdir(parents=True, exist_ok=True)
        self._lock: IO[str] | None = None
        for slot in range(256):
            lock = open(base / f"profile-{slot}.lock", "w")  # noqa: SIM115 - held open on purpose
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            self._lock = lock
            self.path = (base / f"profile-{slot}").absolute()
            return
        raise StartFailed(f"no free LibreOffice profile slot under {base}")

    def prepare(self, fresh: bool = False) -> None:
        if fresh:
            shutil.rmtree(self.path, ignore_errors=True)
        user = self.path / "user"
        user.mkdir(parents=True, exist_ok=True)
        registry = user / "registrymodifications.xcu"
        if not registry.exists():
            registry.write_text(REGISTRY, encoding="utf-8")
        else:
            enforce_registry(registry)

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def enforce_registry(path: Path) -> None:
    """Add the settings of REGISTRY that a profile made by an older version lacks."""
    text = path.read_text(encoding="utf-8", errors="replace")
    missing = [
        line for line in REGISTRY.splitlines() if line.startswith("<item ") and line not in text
    ]
    if missing and "</oor:items>" in text:
        text = text.replace("</oor:items>", "\n".join(missing) + "\n</oor:items>", 1)
        path.write_text(text, encoding="utf-8")


class OfficeProcess:
    """soffice.bin plus the UNO desktop connected to it. `start` must run on the thread that
    will outlive the process (the worker's main thread): the parent-death signal follows it."""

    def __init__(self, binary: str, profile: ProfileSlot, start_timeout_s: float) -> None:
        self.binary = binary
        self.profile = profile
        self.start_timeout_s = start_timeout_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.desktop: Any = None
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.started_at = 0.0
        self.pipe = ""

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, *, fresh_profile: bool = False) -> None:
        self.profile.prepare(fresh=fresh_profile)
        self._forget_pipe()
        pipe = f"imm-{uuid.uuid4().hex}"
        self.pipe = pipe
        args = [
            self.binary, "--headless", "--invisible", "--nocrashreport", "--nodefault",
            "--nologo", "--nofirststartwizard", "--norestore", "--nolockcheck",
            f"-env:UserInstallation={self.profile.path.as_uri()}",
            f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
        ]  # fmt: skip
        setpriv = shutil.which("setpriv")
        if setpriv:
            args = [setpriv, "--pdeathsig", "KILL", "--", *args]
        env = {**os.environ, "SAL_USE_VCLPLUGIN": "svp", "HOME": str(self.profile.path)}
        self.ready.clear()
        self.error = None
        self.desktop = None
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        threading.Thread(
            target=self._connect, args=(pipe, self.proc), daemon=True, name="soffice-connect"
        ).start()

    def _connect(self, pipe: str, proc: subprocess.Popen[bytes]) -> None:
        try:
            uno = import_uno()
            from com.sun.star.connection import NoConnectException

            local = uno.getComponentContext()
            resolver = local.ServiceManager.createInstanceWithContext(
                "com.sun.star.bridge.UnoUrlResolver", local
            )
            deadline = time.monotonic() + self.start_timeout_s
            while True:
                if proc.poll() is not None:
                    if proc.returncode == EXIT_RESTART:
                        raise RestartRequested(
                            "soffice initialised its profile and asks for a restart"
                        )
                    raise StartFailed(
                        f"soffice exited with status {proc.returncode} while starting"
                    )
                try:
                    ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                    break
                except NoConnectException:
                    if time.monotonic() > deadline:
                        raise StartFailed(
                            f"soffice did not accept connections within {self.start_timeout_s:.0f} s"
                        ) from None
                    time.sleep(0.05)
            desktop = ctx.ServiceManager.createInstanceWithContext(
                "com.sun.star.frame.Desktop", ctx
            )
            for factory in ("swriter", "scalc", "simpress"):  # load the modules once: warm
                doc = desktop.loadComponentFromURL(
                    f"private:factory/{factory}", "_blank", 0, (prop("Hidden", True),)
                )
                doc.close(True)
            self.desktop = desktop
            log.info("soffice pid %s ready in %.2f s", proc.pid, time.monotonic() - self.started_at)
        except BaseException as exc:
            self.error = exc
            if not isinstance(exc, RestartRequested):
                log.warning("soffice pid %s failed to start: %s", proc.pid, exc)
        finally:
            self.ready.set()

    def wait_ready(self, timeout: float) -> Any:
        if not self.ready.wait(timeout):
            raise StartFailed(f"soffice did not become ready within {timeout:.0f} s")
        if isinstance(self.error, StartFailed):
            raise self.error
        if self.error is not None:
            raise StartFailed(str(self.error))
        return self.desktop

    def kill(self) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGKILL)

    def stop(self, grace_s: float = 5.0) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None and self.desktop is not None:
            done = threading.Event()

            def terminate() -> None:
                with contextlib.suppress(Exception):  # the bridge may already be gone
                    self.desktop.terminate()
                done.set()

            threading.Thread(target=terminate, daemon=True).start()
            done.wait(grace_s)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.kill()
            proc.wait(timeout=5)
        self.proc = None
        self.desktop = None
        self._forget_pipe()

    def _forget_pipe(self) -> None:
        """Remove the pipe socket a killed soffice leaves in /tmp (one per start otherwise)."""
        if self.pipe and (self.proc is None or self.proc.poll() is not None):
            for directory in {tempfile.gettempdir(), "/tmp"}:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(directory, f"OSL_PIPE_{os.getuid()}_{self.pipe}"))
            self.pipe = ""
