"""A configured feature whose extra is not installed stops the command at start, with an
error naming the extra (imm_engine/extras.py). A missing module is simulated by a None entry
in sys.modules, which makes importing it fail as if it were not installed."""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from imm_engine.extras import MissingExtra, require
from imm_engine.notify.routes import parse_routes
from imm_engine.notify.senders import KINDS, default_senders
from imm_engine.service.cli import main
from imm_engine.service.needs import require_extras
from imm_engine.storage import CLOUD, open_backend
from imm_engine.storage.config import parse_storage_config

ROOT = Path(__file__).resolve().parents[2]
OPTIONAL = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]

S3 = {"type": "s3", "endpoint_url": "http://127.0.0.1:9", "region": "us-east-1"}
OSS = {"type": "oss", "endpoint": "http://127.0.0.1:9", "access_key_id": "a"}
OSS |= {"access_key_secret": "b"}
ROUTES = {
    "amqp": {"type": "amqp", "url": "amqp://127.0.0.1/", "exchange": "x"},
    "mqtt": {"type": "mqtt", "host": "127.0.0.1", "topic": "t"},
    "mns": {
        "type": "mns",
        "endpoint": "http://127.0.0.1:9",
        "topic": "t",
        "access_key_id": "a",
        "access_key_secret": "b",
    },
    "rocketmq": {"type": "rocketmq", "endpoints": "127.0.0.1:8081", "topic": "t"},
}


def configured(storage: dict[str, Any] | None = None, route: str = "") -> Any:
    """What require_extras reads of the settings: the storage and the notification routes."""
    document = {"backends": {"b": storage}} if storage else None
    routes = parse_routes({"mns:imm": ROUTES[route]} if route else {}, {})
    return SimpleNamespace(storage=parse_storage_config(document, {}), notify_routes=routes)


def open_storage(spec: dict[str, Any]) -> Callable[[], object]:
    config = parse_storage_config({"backends": {"b": spec}}, {})
    return lambda: open_backend(config.backends["b"], SimpleNamespace(storage_root=Path("/x")))


#: (what is configured and started, the module that is missing, the extra the error names)
CASES: list[tuple[str, Callable[[], object], str, str]] = [
    ("s3 backend opened", open_storage(S3), "boto3", "s3"),
    ("oss backend opened", open_storage(OSS), "oss2", "oss"),
    ("up with s3", lambda: require_extras("up", configured(S3)), "boto3", "s3"),
    ("worker with oss", lambda: require_extras("worker", configured(OSS)), "oss2", "oss"),
    *[
        (f"{kind} route", lambda k=kind: default_senders([k]), KINDS[kind].library, kind)
        for kind in ROUTES
    ],
    *[
        (f"notifier, {kind}", lambda k=kind: require_extras("notifier", configured(route=k)),
         KINDS[kind].library, kind)
        for kind in ROUTES
    ],
    ("up with mqtt", lambda: require_extras("up", configured(route="mqtt")), "paho.mqtt.client",
     "mqtt"),
    ("flower", lambda: require_extras("flower", configured()), "flower", "flower"),
    ("convert, no rich", lambda: require_extras("convert", configured()), "rich", "cli"),
    ("tasks, no SDK", lambda: require_extras("tasks", configured()), "alibabacloud_imm20200930",
     "cli"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("start", "module", "extra"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_missing_extra_is_named(
    monkeypatch: pytest.MonkeyPatch, start: Callable[[], object], module: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingExtra) as err:
        start()
    message = str(err.value)
    assert f"needs the '{extra}' extra" in message
    assert message.endswith(f"pip install 'imm-engine[{extra}]'")
    assert extra in OPTIONAL


@pytest.mark.parametrize(
    ("command", "config", "notifier"),
    [
        ("api", configured(S3, "mqtt"), True),  # the API opens neither storage nor brokers
        ("worker", configured(route="mqtt"), False),  # --no-notifier
        ("notifier", configured(S3), True),  # the notifier opens no storage
        ("mns", configured(S3, "mqtt"), True),
    ],
)
def test_commands_need_only_what_they_run(
    monkeypatch: pytest.MonkeyPatch, command: str, config: Any, notifier: bool
) -> None:
    for module in ("boto3", "paho.mqtt.client"):
        monkeypatch.setitem(sys.modules, module, None)
    require_extras(command, config, notifier=notifier)


def test_nothing_configured_needs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    for _, _, module, _ in CASES:
        monkeypatch.setitem(sys.modules, module, None)
    for command in ("up", "api", "worker", "notifier", "mns"):
        require_extras(command, configured())
    assert set(default_senders(["webhook", "redis_stream"])) == {"webhook", "redis_stream"}


def test_the_cli_prints_the_extra_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "flower", None)
    assert main(["flower"]) == 2
    err = capsys.readouterr().err
    assert "imm-engine flower: Flower (the Celery monitor) needs the 'flower' extra" in err


def test_the_message_names_the_feature_the_extra_and_the_install() -> None:
    with pytest.raises(MissingExtra) as err:
        require("s3", "no_such_module_here", "the S3 storage backend")
    assert str(err.value) == (
        "the S3 storage backend needs the 's3' extra (No module named 'no_such_module_here'): "
        "pip install 'imm-engine[s3]'"
    )
    require("s3", "json", "the S3 storage backend")  # installed: nothing raised


def test_every_extra_is_declared_and_all_has_them_but_rocketmq() -> None:
    named = {c.extra for c in CLOUD.values()}
    named |= {k.extra for k in KINDS.values() if k.extra} | {"flower", "cli"}
    assert named <= set(OPTIONAL)
    (everything,) = OPTIONAL["all"]
    assert everything == f"imm-engine[{','.join(sorted(named - {'rocketmq'}, key=order))}]"


def order(extra: str) -> int:
    return list(OPTIONAL).index(extra)
