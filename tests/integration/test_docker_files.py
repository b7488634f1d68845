"""Static checks of docker/ (no Docker engine here: no image is built or run).

What these prove: compose.yaml parses and wires the expected services and env; every
Dockerfile instruction is known and every COPY source exists; the worker image installs
the system packages through docker/install-system-deps.sh; every command the images run
is a real entry point here (`--help` exits 0). What they cannot prove: that the images
build or that apt/pip resolve inside them.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
KNOWN = {"FROM", "RUN", "COPY", "ENV", "WORKDIR", "EXPOSE", "CMD", "ENTRYPOINT", "ARG", "USER"}


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in path.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        word, _, rest = full.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


@pytest.mark.parametrize("name", ["Dockerfile.api", "Dockerfile.worker"])
def test_dockerfile_parses_and_copy_sources_exist(name: str) -> None:
    ins = instructions(DOCKER / name)
    assert ins[0][0] == "FROM"
    assert {i for i, _ in ins} <= KNOWN
    for word, rest in ins:
        if word == "COPY":
            *sources, _dest = shlex.split(rest)
            for src in sources:
                assert (ROOT / src).exists(), f"{name}: COPY source {src} missing"
    cmd = [rest for word, rest in ins if word == "CMD"]
    assert cmd == ['["imm-engine", "api"]' if name.endswith("api") else '["imm-engine", "worker"]']


def test_worker_image_runs_the_system_deps_script() -> None:
    runs = " ".join(
        rest for word, rest in instructions(DOCKER / "Dockerfile.worker") if word == "RUN"
    )
    assert "/tmp/install-system-deps.sh" in runs
    assert "--system-site-packages" in runs  # python3-uno lives in Debian's dist-packages


def test_compose_services_and_env() -> None:
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"redis", "api", "worker", "flower"}
    assert "--appendonly" in services["redis"]["command"]
    for name in ("api", "worker", "flower"):
        env = services[name]["environment"]
        assert env["IMM_REDIS_URL"] == "redis://redis:6379/0"
    assert services["flower"]["environment"]["FLOWER_UNAUTHENTICATED_API"] == "true"
    assert services["flower"]["command"][:2] == ["imm-engine", "flower"]
    assert "/healthz" in " ".join(services["api"]["healthcheck"]["test"])
    assert services["worker"]["deploy"]["replicas"] >= 1
    for name in ("api", "worker"):
        dockerfile = services[name]["build"]["dockerfile"]
        assert (DOCKER / ".." / dockerfile).resolve().exists()


@pytest.mark.parametrize(
    "args", [["imm-engine", "api"], ["imm-engine", "worker"], ["imm-engine", "flower"]]
)
def test_commands_are_real_entry_points(args: list[str]) -> None:
    exe = Path(sys.executable).parent / args[0]
    result = subprocess.run(
        [str(exe), *args[1:], "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_apt_packages_exist() -> None:
    """Every apt package named in the worker image and the deps script is known to apt."""
    names: list[str] = []
    for word, rest in instructions(DOCKER / "Dockerfile.worker"):
        if word == "RUN" and "apt-get install" in rest:
            tail = rest.split("--no-install-recommends", 1)[1].split("&&")[0]
            names += tail.split()
    script = (DOCKER / "install-system-deps.sh").read_text()
    block = script.split("packages=(", 1)[1].split(")", 1)[0]
    names += block.split()
    assert "python3-uno" in names and "python3" in names
    for name in names:
        shown = subprocess.run(
            ["apt-cache", "show", name], capture_output=True, text=True, timeout=60
        )
        assert f"Package: {name}" in shown.stdout, f"apt knows no package {name}"
