"""One long-lived soffice process: start, connect over a UNO pipe, warm up, stop.

soffice.bin is started directly (not through the `soffice` shell wrapper) under
`setpriv --pdeathsig KILL` (or bwrap's `--die-with-parent`), so it dies with the worker
process that owns it, whatever kills that process. Each process gets its own user profile,
reused across restarts (a warm profile starts faster), locked so no two live processes share
one.

Each soffice runs in the sandbox of workers/isolation/sandbox.py (IMM_SANDBOX) under the memory bound
(IMM_MAX_PROCESS_MEMORY). It sees its profile (at its own path), a private `/tmp` (where its
UNO pipe socket appears: a symlink in the real /tmp lets our side reach it) and one
*exchange* directory (`/imm/work`): the converter puts each task's input there, reads the
output from there and empties it between tasks, so no other task's files and nothing of the
storage root are ever visible to LibreOffice.
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

from workers.isolation.memwatch import descendant
from workers.isolation.sandbox import Policy
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


#: Signals that only something outside LibreOffice sends (the kernel's OOM killer, an
#: operator, a deploy, a container stop): the process died, the document did not crash it.
#: A crash of LibreOffice itself is SIGSEGV, SIGABRT, SIGBUS or an exit status.
KILLED_FROM_OUTSIDE = frozenset({signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP})


def ending_signal(returncode: int, sandboxed: bool) -> int | None:
    """The signal that ended soffice, from the exit status of the process we hold: soffice
    itself (negative: killed by a signal) or, in the sandbox, bwrap, which exits with 128 +
    the signal that ended soffice.bin."""
    if returncode < 0:
        return -returncode
    if sandboxed and 128 < returncode < 128 + 65:
        return returncode - 128
    return None


class StartFailed(RuntimeError):
    pass


class RestartRequested(StartFailed):
    """soffice exits with status 81 after it initialised a new profile: start it again."""


EXIT_RESTART = 81
#: A symlink to a pipe socket that is still missing after this long belongs to no soffice.
STALE_PIPE_S = 2 * 3600


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


#: Where the sandboxed soffice sees its directories (the warm one: its profile at its own
#: path, so its command line names it; the one-off: here).
PROFILE_INSIDE = "/imm/profile"
EXCHANGE_INSIDE = "/imm/work"


def write_profile(path: Path) -> None:
    """A profile directory with the hardened settings (REGISTRY), new or made by an older
    version."""
    user = path / "user"
    user.mkdir(parents=True, exist_ok=True)
    registry = user / "registrymodifications.xcu"
    if not registry.exists():
        registry.write_text(REGISTRY, encoding="utf-8")
    else:
        enforce_registry(registry)


def soffice_env(home: str, binary: str = DEFAULT_BINARY) -> dict[str, str]:
    """The whole environment of a soffice (none of the worker's variables, secrets included).
    LD_LIBRARY_PATH: in the sandbox there is no /proc/self/exe for the loader's $ORIGIN."""
    env = {"PATH": "/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8", "TMPDIR": "/tmp"}
    env["LD_LIBRARY_PATH"] = str(Path(os.path.realpath(binary)).parent)
    env.update({k: os.environ[k] for k in ("LANG", "LC_ALL", "LANGUAGE", "TZ") if k in os.environ})
    env["SAL_USE_VCLPLUGIN"] = "svp"
    return env


class ProfileSlot:
    """A user-profile directory held under an exclusive lock for this process's lifetime,
    with the slot's run directory beside it (`run-N`: the sandbox's /tmp and exchange)."""

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
            self.run = (base / f"run-{slot}").absolute()
            return
        raise StartFailed(f"no free LibreOffice profile slot under {base}")

    def prepare(self, fresh: bool = False) -> None:
        if fresh:
            shutil.rmtree(self.path, ignore_errors=True)
        write_profile(self.path)
        shutil.rmtree(self.run, ignore_errors=True)
        for sub in ("tmp", "work"):
            (self.run / sub).mkdir(parents=True, exist_ok=True)

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

    def __init__(
        self,
        binary: str,
        profile: ProfileSlot,
        start_timeout_s: float,
        policy: Policy | None = None,
    ) -> None:
        self.binary = binary
        self.profile = profile
        self.start_timeout_s = start_timeout_s
        self.policy = policy or Policy()
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

    @property
    def exchange(self) -> Path:
        """The directory (host side) soffice reads its input from and writes its output to."""
        return self.profile.run / "work"

    @property
    def log_path(self) -> Path:
        """soffice's stderr (bad_alloc and other last words)."""
        return self.profile.run / "soffice.log"

    def inside(self, path: Path) -> Path:
        """Where soffice sees `path`, a file in the exchange directory."""
        if not self.policy.enabled:
            return path
        return Path(EXCHANGE_INSIDE) / path.relative_to(self.exchange)

    def soffice_pid(self) -> int | None:
        """The host pid of soffice.bin itself (bwrap and prlimit stand in between)."""
        if not self.alive() or self.proc is None:
            return None
        return descendant(self.proc.pid, "soffice.bin")

    def start(self, *, fresh_profile: bool = False) -> None:
        self._forget_pipe()
        self.profile.prepare(fresh=fresh_profile)
        pipe = f"imm-{uuid.uuid4().hex}"
        self.pipe = pipe
        sandboxed = self.policy.enabled
        # The profile is bound at its own path: soffice's command line names it, as before.
        profile = str(self.profile.path)
        args = [
            self.binary, "--headless", "--invisible", "--nocrashreport", "--nodefault",
            "--nologo", "--nofirststartwizard", "--norestore", "--nolockcheck",
            f"-env:UserInstallation={Path(profile).as_uri()}",
            f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
        ]  # fmt: skip
        env = soffice_env(profile, self.binary)
        if sandboxed:
            run = self.profile.run
            self.policy.own(self.profile.path, run / "tmp", run / "work")
            args = self.policy.command(
                args,
                binds=[
                    (self.profile.path, profile),
                    (run / "tmp", "/tmp"),
                    (run / "work", EXCHANGE_INSIDE),
                ],
                chdir=EXCHANGE_INSIDE,
                env=env,
            )
            # Our side of the UNO pipe: the socket soffice makes in its private /tmp.
            self._sweep_dangling()
            os.symlink(run / "tmp" / self._socket_name(self.policy.as_uid()), self._client_socket())
        else:
            args = self.policy.command(args)
        setpriv = shutil.which("setpriv")
        if setpriv:  # the death signal survives the exec of prlimit, bwrap and soffice
            args = [setpriv, "--pdeathsig", "KILL", "--", *args]
        self.ready.clear()
        self.error = None
        self.desktop = None
        self.started_at = time.monotonic()
        with open(self.log_path, "wb") as log_file:
            self.proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log_file,
                env=env if sandboxed else {**os.environ, **env},
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

    def exit_signal(self) -> int | None:
        """The signal that ended soffice, if it has ended by one."""
        proc = self.proc
        code = proc.poll() if proc is not None else None
        return None if code is None else ending_signal(code, self.policy.enabled)

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

    def _socket_name(self, uid: int) -> str:
        return f"OSL_PIPE_{uid}_{self.pipe}"

    def _client_socket(self) -> str:
        """Where our side of the bridge looks for the pipe socket (LibreOffice's rule)."""
        return os.path.join("/tmp", self._socket_name(os.getuid()))

    @staticmethod
    def _sweep_dangling() -> None:
        """Remove our symlinks to pipe sockets that are gone (a worker killed outright cannot
        remove its own). A live soffice's symlink points to an existing socket; one still
        starting (no socket yet) has its directory and is young: both stay."""
        prefix = f"OSL_PIPE_{os.getuid()}_imm-"
        now = time.time()
        with contextlib.suppress(OSError):
            for name in os.listdir("/tmp"):
                path = os.path.join("/tmp", name)
                if not name.startswith(prefix) or not os.path.islink(path):
                    continue
                with contextlib.suppress(OSError):
                    target = os.readlink(path)
                    stale = not os.path.isdir(os.path.dirname(target)) or (
                        now - os.lstat(path).st_mtime > STALE_PIPE_S
                    )
                    if stale and not os.path.exists(path):
                        os.unlink(path)

    def _forget_pipe(self) -> None:
        """Remove the pipe socket (or our symlink to it) a killed soffice leaves in /tmp (one
        per start otherwise)."""
        if self.pipe and (self.proc is None or self.proc.poll() is not None):
            for directory in {tempfile.gettempdir(), "/tmp"}:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(directory, self._socket_name(os.getuid())))
            self.pipe = ""
