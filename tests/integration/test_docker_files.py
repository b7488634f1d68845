"""Static checks of docker/ (no Docker engine here: no image is built or run).

What these prove: compose.yaml parses and wires the expected services and env, and keeps
its safety properties (keys and Flower login required from the environment, ports on
127.0.0.1 unless told otherwise, non-root users, grace periods, the `demo` project); every
Dockerfile instruction is known and every COPY source exists; the worker image installs the
system packages through docker/install-system-deps.sh; every command the images run is a
real entry point here (`--help` exits 0); the build context leaves out var/, .venv, tests
and .env files. Building and running the images is `make test-containers`
(tests/containers/).
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from imm_engine.service.processes import STOP_GRACE_S

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
KNOWN = {"FROM", "RUN", "COPY", "ENV", "WORKDIR", "EXPOSE", "CMD", "ENTRYPOINT", "ARG", "USER"}
COMPOSE = yaml.safe_load((DOCKER / "compose.yaml").read_text())


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
    services = COMPOSE["services"]
    assert set(services) == {"redis", "api", "worker", "flower"}
    assert "--appendonly" in services["redis"]["command"]
    for name in ("api", "worker", "flower"):
        env = services[name]["environment"]
        assert env["IMM_REDIS_URL"] == "redis://redis:6379/0"
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


@pytest.mark.parametrize("name", ["Dockerfile.api", "Dockerfile.worker"])
def test_images_run_as_an_unprivileged_user(name: str) -> None:
    ins = instructions(DOCKER / name)
    users = [rest for word, rest in ins if word == "USER"]
    assert users == ["imm"]
    assert [word for word, _ in ins][-2:] in (["USER", "CMD"], ["EXPOSE", "CMD"])
    runs = " ".join(rest for word, rest in ins if word == "RUN")
    assert "--uid 10001" in runs and "-o imm -g imm" in runs and "/data" in runs


def test_compose_needs_keys_and_a_flower_login_from_the_environment() -> None:
    api = COMPOSE["services"]["api"]["environment"]
    flower = COMPOSE["services"]["flower"]["environment"]
    assert api["IMM_ACCESS_KEY_ID"].startswith("${IMM_ACCESS_KEY_ID:?")
    assert api["IMM_ACCESS_KEY_SECRET"].startswith("${IMM_ACCESS_KEY_SECRET:?")
    assert flower["IMM_FLOWER_BASIC_AUTH"].startswith("${IMM_FLOWER_BASIC_AUTH:?")
    assert not any(k.startswith("FLOWER_") for k in flower)
    assert api["IMM_DEFAULT_PROJECTS"] == "${IMM_DEFAULT_PROJECTS:-demo}"


def test_compose_publishes_on_loopback_unless_told() -> None:
    services = COMPOSE["services"]
    for name in ("api", "flower"):
        for port in services[name]["ports"]:
            assert port.startswith("${IMM_PUBLISH_HOST:-127.0.0.1}:"), port
    assert "ports" not in services["redis"] and "ports" not in services["worker"]


def seconds(text: str) -> int:
    assert text.endswith("s")
    return int(text[:-1])


def test_compose_containers_are_hardened_and_stop_in_time() -> None:
    services = COMPOSE["services"]
    for name, service in services.items():
        assert service["init"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert seconds(service["stop_grace_period"]) > 10, name
    assert services["redis"]["user"] == "redis"
    # imm_engine/service/processes.py kills the worker's children still running after STOP_GRACE_S.
    assert seconds(services["worker"]["stop_grace_period"]) > STOP_GRACE_S + 10
    # bubblewrap's /proc (LibreOffice's sandbox) needs the masked paths lifted.
    assert "systempaths=unconfined" in services["worker"]["security_opt"]


def test_env_example_names_every_required_variable() -> None:
    example = (DOCKER / ".env.example").read_text()
    text = (DOCKER / "compose.yaml").read_text()
    required = {part.split(":?")[0] for part in text.split("${")[1:] if ":?" in part.split("}")[0]}
    assert required == {"IMM_ACCESS_KEY_ID", "IMM_ACCESS_KEY_SECRET", "IMM_FLOWER_BASIC_AUTH"}
    for name in required:
        # Present and empty: a copy left unedited starts nothing (compose's `:?` refuses).
        assert f"\n{name}=\n" in example, name


def test_build_context_leaves_out_local_state_and_secrets() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"var", ".venv", "tests", "**/.env", ".git"} <= ignored


def test_worker_image_has_bubblewrap() -> None:
    script = (DOCKER / "install-system-deps.sh").read_text()
    assert "bubblewrap" in script.split("packages=(", 1)[1].split(")", 1)[0].split()
