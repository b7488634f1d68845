"""The official IMM SDK client, built from Settings, and its errors in two kinds.

`ApiRefused`: the API answered with an IMM error (Code, Message). `ApiUnreachable`: no answer
(connection refused, timeout), which the CLI reports with exit status 2.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import httpx
from alibabacloud_imm20200930.client import Client
from alibabacloud_tea_openapi import utils_models as om
from alibabacloud_tea_openapi.exceptions import ClientException
from Tea.exceptions import TeaException

from imm_engine.settings import Settings

T = TypeVar("T")


class ApiRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ApiUnreachable(Exception):
    pass


def unreachable_message(endpoint: str, why: str) -> str:
    return (
        f"the imm-engine API at http://{endpoint} is not reachable ({why}). Start the service "
        "with `make up` (or `imm-engine up`), or point --endpoint at it."
    )


def check_reachable(endpoint: str, timeout_s: float = 3.0) -> None:
    """GET /healthz, so that a stopped service is reported before any upload."""
    try:
        response = httpx.get(f"http://{endpoint}/healthz", timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise ApiUnreachable(unreachable_message(endpoint, type(exc).__name__)) from None
    if response.status_code != 200:
        raise ApiUnreachable(
            unreachable_message(endpoint, f"/healthz answered {response.status_code}")
        )


def build_client(settings: Settings, endpoint: str, read_timeout_s: float = 30.0) -> Client:
    """A client signing with the first configured AccessKey (the local default pair when none
    is configured), as the service itself will check it."""
    key_id, secret = next(iter(settings.access_keys.items()))
    return Client(
        om.Config(
            access_key_id=key_id,
            access_key_secret=secret.get_secret_value(),
            endpoint=endpoint,
            protocol="http",
            region_id=settings.region,
            read_timeout=int(read_timeout_s * 1000),
            connect_timeout=5000,
        )
    )


def call(endpoint: str, fn: Callable[[], T]) -> T:
    """Run one SDK call; its failures become ApiRefused or ApiUnreachable."""
    try:
        return fn()
    except ClientException as exc:
        raise ApiRefused(str(exc.code or "Error"), str(exc.message or exc)) from None
    except TeaException as exc:
        code = getattr(exc, "code", None)
        data = getattr(exc, "data", None)
        if code and isinstance(data, dict) and data.get("statusCode"):
            raise ApiRefused(str(code), str(getattr(exc, "message", "") or exc)) from None
        raise ApiUnreachable(unreachable_message(endpoint, _short(exc))) from None


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "message", "") or exc)
    if "Connection refused" in text:
        return "connection refused"
    if "timed out" in text.lower():
        return "timed out"
    return text[:200]
