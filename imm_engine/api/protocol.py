"""How a POP request reads: action, version, parameters, signature material (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

from imm_engine.api.params import Params
from imm_engine.api.signature import SignedRequest, is_rpc
from imm_engine.errors import ApiError

API_VERSION = "2020-09-30"
#: The document-conversion API of the old SDKs (aliyunsdkimm.request.v20170906).
LEGACY_VERSION = "2017-09-06"
VERSIONS = (API_VERSION, LEGACY_VERSION)
FORM = "application/x-www-form-urlencoded"
#: The methods `/` answers; anything else is 405 (`MethodNotAllowed`), as JSON.
METHODS = frozenset({"GET", "POST"})
#: Largest total of header names and values (the SDK sends about 1 KB; STS adds a token).
MAX_HEADER_BYTES = 64 * 1024
#: Most parameters one request may carry (IMM's largest action has about 40).
MAX_PARAMS = 256


def method_not_allowed(method: str) -> ApiError:
    return ApiError(
        "MethodNotAllowed",
        f"The HTTP method {method[:16]} is not allowed; use POST (or GET).",
        405,
    )


def check_headers(raw: Sequence[tuple[bytes, bytes]]) -> None:
    """Refuse requests whose headers are larger than any client of this API sends."""
    size = sum(len(name) + len(value) for name, value in raw)
    if size > MAX_HEADER_BYTES:
        raise ApiError(
            "RequestHeaderFieldsTooLarge",
            f"The request headers are larger than {MAX_HEADER_BYTES} bytes.",
            431,
        )


@dataclass(frozen=True)
class Call:
    action: str
    params: Params
    version: str = API_VERSION


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
    elif body:  # a body we would not read must not be silently ignored
        shown = content_type[:60] or "none"
        raise ApiError(
            "InvalidArgument",
            f"Unsupported Content-Type {shown!r} for a request body; send {FORM}.",
        )
    if len(query) + len(form) > MAX_PARAMS:
        raise ApiError("InvalidArgument", f"The request has more than {MAX_PARAMS} parameters.")
    return SignedRequest(method, path, query, headers, body, form)


def check_rpc_headers(req: SignedRequest, params: Params) -> None:
    for header, name in (("x-acs-action", "Action"), ("x-acs-version", "Version")):
        sent, signed = req.headers.get(header), params.raw(name)
        if sent is not None and sent != signed:
            raise ApiError(
                "SignatureDoesNotMatch",
                f"The {header} header ({sent[:64]!r}) is not covered by the HMAC-SHA1 signature "
                f"and disagrees with the signed {name} parameter ({(signed or '')[:64]!r}); "
                "leave the header out or make it equal.",
            )


def read_call(req: SignedRequest) -> Call:
    """Action, version and parameters of an authenticated request. The version comes from the
    `x-acs-version` header (core 2.16 sends it) or the `Version` parameter (core 2.11 sends
    only that); the two API versions share action names, so both select the handler.

    The classic RPC signature covers the parameters, not the headers, so its `Action` and
    `Version` parameters are authoritative: an `x-acs-action` / `x-acs-version` header that
    disagrees with them is refused (`SignatureDoesNotMatch`), never obeyed."""
    params = Params([*req.query, *req.form])
    if is_rpc(req):
        check_rpc_headers(req, params)
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
    if version not in VERSIONS:
        raise ApiError(
            "InvalidVersion",
            "Specified parameter Version is not valid: this server implements "
            f"{' and '.join(VERSIONS)}.",
        )
    return Call(action, params, version)
