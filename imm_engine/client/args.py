"""Parsing of the CLI's own arguments (pure): --since, --tag, --pages, --endpoint."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from imm_engine.errors import InvalidValue
from imm_engine.state.query import parse_time
from imm_engine.tasktypes.office import pages

if TYPE_CHECKING:
    from imm_engine.settings import Settings

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_BARE_KEY = re.compile(r"^[A-Za-z0-9_.:/@+-]+$")


class UsageError(ValueError):
    """An argument the user must fix; the message says how."""


def parse_since(text: str, now: float) -> float:
    """`--since`: a duration back from `now` (`90s`, `15m`, `1h`, `2d`, `1w`) or an ISO-8601
    time (`2024-05-01T10:00:00Z`, no offset means UTC); epoch seconds."""
    m = _DURATION.match(text)
    if m:
        return now - float(m.group(1)) * _UNIT_S[m.group(2).lower()]
    try:
        return parse_time(text, "--since")
    except InvalidValue:
        raise UsageError(
            f"--since {text!r}: give a duration such as 30m, 1h, 2d or an ISO time such as "
            "2024-05-01T10:00:00Z"
        ) from None


def iso_utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_tag(text: str) -> tuple[str, str]:
    """`--tag k=v` -> (k, v); the key must not be empty."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"--tag {text!r}: write it as key=value")
    return key.strip(), value


def _quoted(text: str) -> str:
    if _BARE_KEY.match(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def tag_selector(tags: list[tuple[str, str]]) -> str:
    """ListTasks' TagSelector: every `key=value` must hold (quoted when needed)."""
    return ",".join(f"{_quoted(k)}={_quoted(v)}" for k, v in tags)


def check_pages(text: str) -> str:
    """`--pages 1-3,5`: validated as the API will (imm_engine/tasktypes/office/pages.py),
    passed as `Pages`."""
    try:
        pages.parse_pages(text, "--pages")
    except InvalidValue as exc:
        raise UsageError(exc.message) from None
    return text.replace(" ", "")


def default_endpoint(settings: Settings) -> str:
    """The API's host:port as a client on this machine reaches it."""
    host = settings.api_host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"{host}:{settings.api_port}"


def parse_endpoint(text: str) -> str:
    """`--endpoint host:port` (an http:// prefix is allowed) -> `host:port`."""
    value = text.strip()
    for scheme in ("http://", "https://"):
        if value.startswith(scheme):
            value = value[len(scheme) :]
    value = value.rstrip("/")
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--endpoint {text!r}: give host:port, such as 127.0.0.1:8080")
    return value
