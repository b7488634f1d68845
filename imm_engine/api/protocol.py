"""How a POP request reads: action, version, parameters, signature material (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

from imm_engine.api.signature import SignedRequest
from imm_engine.errors import ApiError
from imm_engine.params import Params

API_VERSION = "2020-09-30"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Call:
    action: str
    params: Params


def decode_pairs(raw: bytes, what: str) -> list[tuple[str, str]]:
    try:
        text = raw.decode("ascii") if what == "query" else raw.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise ApiError(
            "InvalidArgument", f"The request {what} is not valid URL-encoded UTF-8."
        ) from None


def read_request(
    method: str, path: str, raw_query: bytes, headers: Mapping[str, str], body: bytes
) -> SignedRequest:
    """The parts of an HTTP request that its signature covers."""
    query = decode_pairs(raw_query, "query")
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    form: Sequence[tuple[str, str]] = ()
    if body and content_type == FORM:
        form = decode_pairs(body, "body")
    elif body and content_type not in ("", "application/octet-stream", "application/json"):
        raise ApiError(
            "InvalidArgument", f"Unsupported Content-Type {content_type[:60]!r}; send {FORM}."
        )
    return SignedRequest(method, path, query, headers, body, form)


def read_call(req: SignedRequest) -> Call:
    """Action, version and parameters of an authenticated request."""
    params = Params([*req.query, *req.form])
    action = req.headers.get("x-acs-action") or params.raw("Action")
    if not action:
        raise ApiError(
            "MissingAction", "Action is mandatory for this request (header x-acs-action)."
        )
    version = req.headers.get("x-acs-version") or params.raw("Version")
    if not version:
        raise ApiError(
            "MissingVersion", "Version is mandatory for this request (header x-acs-version)."
        )
    if version != API_VERSION:
        raise ApiError(
            "InvalidVersion",
            f"Specified parameter Version is not valid: this server implements {API_VERSION}.",
        )
    return Call(action, params)
