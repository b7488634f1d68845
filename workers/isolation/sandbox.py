"""The sandbox and memory bound of every process started on a user's document.

LibreOffice (the warm one and the one-off `--convert-to`) runs under bubblewrap: a private
mount namespace in which only read-only `/usr`, the few `/etc` entries LibreOffice needs, a
private `/proc` and `/dev`, and the directories the caller binds (its exchange directory,
its profile, its `/tmp`) exist; no network (only a loopback of its own), no other process,
and an unprivileged user. A document that links `file:///anything` finds nothing there, and
one that links `http://...` reaches nothing. See docs/security.md.

Two ways in, chosen by what we may do:

* root with CAP_SYS_ADMIN (a bare-metal worker): bwrap runs privileged (no user namespace
  needed) and `setpriv` inside drops to uid/gid 65534 (nobody) with no capabilities and
  no-new-privs: on the host, soffice is really nobody;
* anyone else (a non-root worker, root in a container): bwrap creates an unprivileged user
  namespace (`--unshare-all`) that maps our uid to 65534 inside.

There is no /proc inside (containers refuse to mount a fresh one, and binding the outer one
would show the worker's processes); LibreOffice finds its libraries through
LD_LIBRARY_PATH instead of /proc/self/exe. Our side reads /proc on the host.

The memory bound is `RLIMIT_DATA` (`prlimit --data`, util-linux), set on the whole command:
it counts heap and anonymous mappings, not shared libraries or fonts, and works the same on
cgroup v1, v2 and in containers without privileges. `IMM_SANDBOX=off` runs the command
bare (memory bound still applied): unsafe for documents you do not trust.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imm_engine.settings import Settings

#: The user a sandboxed process runs as (nobody/nogroup on Debian).
SANDBOX_UID = 65534
SANDBOX_GID = 65534

#: What LibreOffice needs from /etc (read-only); everything else in /etc stays invisible.
ETC_ENTRIES = (
    "fonts", "libreoffice", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group",
    "localtime", "timezone", "nsswitch.conf", "mime.types", "alternatives",
)  # fmt: skip
#: LibreOffice's Debian symlinks point here (bundled extensions, the package cache).
VAR_ENTRIES = ("/var/lib/libreoffice", "/var/spool/libreoffice")
#: Top-level directories that merged-/usr systems have as symlinks into /usr.
USR_ALIASES = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")

MODES = ("bwrap", "off")


class SandboxUnavailable(RuntimeError):
    """bwrap is missing or cannot create its namespaces here; the message says what to do."""


@dataclass(frozen=True)
class Policy:
    #: "bwrap" or "off" (IMM_SANDBOX).
    mode: str = "bwrap"
    #: RLIMIT_DATA of each process, MiB (IMM_MAX_PROCESS_MEMORY); 0: unbounded.
    memory_mib: int = 2048

    @property
    def enabled(self) -> bool:
        return self.mode == "bwrap"

    @property
    def memory_bytes(self) -> int:
        return self.memory_mib * 1024 * 1024

    def as_uid(self) -> int:
        """The uid the sandboxed process has inside (and, as root, on the host)."""
        return SANDBOX_UID if self.enabled else os.getuid()

    def command(
        self,
        argv: Sequence[str],
        *,
        binds: Sequence[tuple[Path, str]] = (),
        chdir: str = "",
        env: dict[str, str] | None = None,
    ) -> list[str]:
        """`argv` wrapped in the memory bound and (unless off) the sandbox, in which each
        (host directory, path inside) of `binds` is mounted read-write."""
        cmd = list(argv)
        if self.enabled:
            cmd = [*bwrap_args(binds=binds, chdir=chdir, env=env or {}), *cmd]
        if self.memory_mib:
            prlimit = shutil.which("prlimit") or "/usr/bin/prlimit"
            limit = self.memory_bytes
            cmd = [prlimit, f"--data={limit}:{limit}", "--", *cmd]
        return cmd

    def own(self, *paths: Path) -> None:
        """Make directories the sandboxed process writes to its own (privileged: chown them
        to the sandbox user; otherwise the user namespace maps it to us: ours already)."""
        if not self.enabled or not privileged():
            return
        for path in paths:
            for root, dirs, files in os.walk(path):
                os.chown(root, SANDBOX_UID, SANDBOX_GID)
                for name in dirs + files:
                    os.lchown(os.path.join(root, name), SANDBOX_UID, SANDBOX_GID)


def policy_of(settings: Settings) -> Policy:
    return Policy(mode=settings.sandbox, memory_mib=settings.max_process_memory_mib)


def bound_this_process(policy: Policy) -> None:
    """Put the memory bound on this process (a Celery pool process, where PyMuPDF renders):
    the soft RLIMIT_DATA only, so the children we start can set their own. An allocation past
    it raises MemoryError (Python) or a MuPDF allocation error: the task fails with
    InvalidFile.MemoryLimitExceeded and the process goes on."""
    if not policy.memory_mib:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    soft = policy.memory_bytes
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def privileged() -> bool:
    """Root with CAP_SYS_ADMIN: bwrap can make its namespaces without a user namespace."""
    if os.getuid() != 0:
        return False
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) & (1 << 21))  # CAP_SYS_ADMIN
    except (OSError, ValueError, IndexError):
        pass
    return False


def bwrap_args(
    *, binds: Sequence[tuple[Path, str]], chdir: str = "", env: dict[str, str]
) -> list[str]:
    """The bwrap command line (up to and including `--`) for binds of host directories."""
    bwrap = shutil.which("bwrap") or "bwrap"
    root = privileged()
    args = [bwrap]
    if root:  # privileged bwrap; setpriv below drops to the sandbox user
        args += [
            "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
            "--unshare-cgroup-try",
        ]  # fmt: skip
    else:  # an unprivileged user namespace maps us to the sandbox user
        args += ["--unshare-all", "--unshare-user", "--uid", str(SANDBOX_UID)]
        args += ["--gid", str(SANDBOX_GID)]
    args += ["--die-with-parent", "--new-session", "--clearenv"]
    args += ["--ro-bind", "/usr", "/usr"]
    for alias in USR_ALIASES:
        path = Path("/") / alias
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    # Directories bwrap makes on its own are 0700 when it runs as root: nobody could enter.
    for directory in ("/etc", "/var", "/var/lib", "/var/spool"):
        args += ["--perms", "0755", "--dir", directory]
    for entry in ETC_ENTRIES:
        args += ["--ro-bind-try", f"/etc/{entry}", f"/etc/{entry}"]
    for var in VAR_ENTRIES:
        args += ["--ro-bind-try", var, var]
    args += ["--dev", "/dev"]
    made: set[str] = {"/", "/usr", "/etc", "/var", "/var/lib", "/var/spool", "/dev"}
    # Outer mount points first: a bind at /tmp must not hide a later one below it.
    for host, inside in sorted(binds, key=lambda bind: len(Path(bind[1]).parts)):
        for parent in reversed(Path(inside).parents):  # else bwrap makes them 0700
            if str(parent) not in made:
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(str(parent))
        args += ["--bind", str(host), inside]
    if chdir:
        args += ["--chdir", chdir]
    for name, value in env.items():
        args += ["--setenv", name, value]
    args.append("--")
    if root:
        setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
        args += [
            setpriv, "--reuid", str(SANDBOX_UID), "--regid", str(SANDBOX_GID),
            "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
        ]  # fmt: skip
    return args


def check(policy: Policy, scratch: Path) -> None:
    """Raise SandboxUnavailable unless a sandboxed process can run here (worker start)."""
    if policy.memory_mib and not shutil.which("prlimit"):
        raise SandboxUnavailable(
            "prlimit (Debian package util-linux) is needed to bound the memory of LibreOffice "
            "and ffmpeg; install it, or set IMM_MAX_PROCESS_MEMORY=0 (unbounded)."
        )
    if not policy.enabled:
        return
    if not shutil.which("bwrap"):
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed: LibreOffice must run in a sandbox. Install "
            "the Debian package bubblewrap (`make deps`), or set IMM_SANDBOX=off, which is "
            "unsafe for documents you do not trust (docs/security.md)."
        )
    scratch.mkdir(parents=True, exist_ok=True)
    policy.own(scratch)
    cmd = policy.command(
        ["/usr/bin/test", "-w", "/imm/check"], binds=[(scratch, "/imm/check")], env={}
    )
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=30, check=False)
    except OSError as exc:
        raise SandboxUnavailable(_cannot_run(str(exc))) from exc
    if done.returncode != 0:
        raise SandboxUnavailable(_cannot_run(done.stderr.decode(errors="replace").strip()))


def _cannot_run(why: str) -> str:
    return (
        f"bubblewrap cannot create its sandbox here ({why or 'no reason given'}). In a "
        "container, allow user namespaces and mounting /proc (docs/security.md), or set "
        "IMM_SANDBOX=off, which is unsafe for documents you do not trust."
    )
