"""Request signatures of Alibaba Cloud's POP gateway (pure).

Two schemes are verified:

* ACS3-HMAC-SHA256, what the official SDKs send by default (`Authorization` header).
* The classic RPC signature (HMAC-SHA1, `Signature` parameter), what
  `Config(signature_algorithm='v2')` and hand-written clients send.

Both return the AccessKey id that signed the request or raise `ApiError` with the code the
POP gateway uses. Clock skew and nonce reuse are checked by the caller (`auth.py`), which
owns time and storage.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from imm_engine.errors import ApiError

ACS3 = "ACS3-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class SignedRequest:
    method: str
    path: str
    #: Decoded query parameters in arrival order.
    query: Sequence[tuple[str, str]]
    #: Header names in lower case; repeated headers joined with ",".
    headers: Mapping[str, str]
    body: bytes
    #: Decoded form-body parameters (used by the RPC scheme, which signs them too).
    form: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class Credentials:
    """What a verified request proves: who signed it, when, and with which nonce."""

    access_key_id: str
    date: str
    nonce: str


def _enc(value: str) -> str:
    return quote(value, safe="~", encoding="utf-8")


def incomplete(detail: str) -> ApiError:
    return ApiError("IncompleteSignature", f"The request signature is incomplete: {detail}", 400)


def mismatch(detail: str = "") -> ApiError:
    message = "Specified signature does not match our calculation."
    return ApiError("SignatureDoesNotMatch", f"{message} {detail}".strip(), 400)


#: What the POP gateway answers for a wrong classic RPC signature. aliyun-python-sdk-core
#: (2.13 and later) reads the server's StringToSign after the colon and compares it with its
#: own: equal means a wrong secret (it reports InvalidAccessKeySecret), different a wrongly
#: built request. Without a colon it fails with IndexError instead of ServerException.
RPC_MISMATCH = "Specified signature is not matched with our calculation. server string to sign is:"
#: A StringToSign is as long as the request's query; it must not be cut short.
MAX_RPC_MISMATCH_MESSAGE = 64 * 1024


def rpc_mismatch(string_to_sign: str) -> ApiError:
    return ApiError(
        "SignatureDoesNotMatch",
        f"{RPC_MISMATCH}{string_to_sign}",
        400,
        max_message=MAX_RPC_MISMATCH_MESSAGE,
    )


def unknown_key(key_id: str) -> ApiError:
    return ApiError(
        "InvalidAccessKeyId.NotFound", f"Specified access key is not found: {key_id[:64]}", 404
    )


def parse_authorization(value: str) -> tuple[str, str, list[str], str]:
    """`ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..` -> its four parts."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ACS3:
        raise incomplete(f"unsupported signature algorithm {algorithm[:40]!r}; use {ACS3}")
    parts: dict[str, str] = {}
    for item in rest.split(","):
        name, eq, val = item.strip().partition("=")
        if not eq or name not in ("Credential", "SignedHeaders", "Signature") or name in parts:
            raise incomplete("the Authorization header is malformed")
        parts[name] = val
    try:
        credential, signed, signature = (
            parts["Credential"],
            parts["SignedHeaders"],
            parts["Signature"],
        )
    except KeyError as missing:
        raise incomplete(f"the Authorization header has no {missing.args[0]}") from None
    if not credential or not signature:
        raise incomplete("the Authorization header has an empty Credential or Signature")
    return algorithm, credential, [h for h in signed.split(";") if h], signature


def canonical_request(req: SignedRequest, signed_headers: Sequence[str], payload_hash: str) -> str:
    query = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in sorted(req.query))
    headers = "".join(f"{h}:{req.headers.get(h, '').strip()}\n" for h in signed_headers)
    return (
        f"{req.method}\n{req.path or '/'}\n{query}\n{headers}\n"
        f"{';'.join(signed_headers)}\n{payload_hash}"
    )


def acs3_signature(secret: str, canonical: str) -> str:
    string_to_sign = f"{ACS3}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def verify_acs3(req: SignedRequest, secret_for: Callable[[str], str | None]) -> Credentials:
    auth = req.headers.get("authorization")
    if not auth:
        raise incomplete("the Authorization header is missing")
    _, key_id, signed, signature = parse_authorization(auth)
    secret = secret_for(key_id)
    if secret is None:
        raise unknown_key(key_id)
    required = (
        "host",
        "x-acs-action",
        "x-acs-content-sha256",
        "x-acs-date",
        "x-acs-signature-nonce",
    )
    lacking = [h for h in required if h not in signed]
    if "x-acs-version" in req.headers and "x-acs-version" not in signed:
        lacking.append("x-acs-version")  # it chooses the API version: never unsigned
    if lacking:
        raise incomplete(f"SignedHeaders must include {', '.join(lacking)}")
    absent = [h for h in ("x-acs-date", "x-acs-signature-nonce") if not req.headers.get(h)]
    if absent:
        raise incomplete(f"the signed header {absent[0]} is missing or empty")
    payload_hash = req.headers.get("x-acs-content-sha256", "")
    if not hmac.compare_digest(payload_hash, hashlib.sha256(req.body).hexdigest()):
        raise mismatch("The x-acs-content-sha256 header does not match the request body.")
    expected = acs3_signature(secret, canonical_request(req, signed, payload_hash))
    if not hmac.compare_digest(expected, signature.lower()):
        raise mismatch()
    return Credentials(key_id, req.headers["x-acs-date"], req.headers["x-acs-signature-nonce"])


def rpc_string_to_sign(method: str, params: Sequence[tuple[str, str]]) -> str:
    pairs = sorted((k, v) for k, v in params if k != "Signature")
    canonical = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in pairs)
    return f"{method}&%2F&{_enc(canonical)}"


def rpc_signature(secret: str, method: str, params: Sequence[tuple[str, str]]) -> str:
    string_to_sign = rpc_string_to_sign(method, params)
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def verify_rpc(req: SignedRequest, secret_for: Callable[[str], str | None]) -> Credentials:
    params = list(req.query) + list(req.form)
    values = dict(params)
    for name in ("AccessKeyId", "Signature", "SignatureNonce", "Timestamp"):
        if not values.get(name):
            raise incomplete(f"the parameter {name} is missing")
    if values.get("SignatureMethod", "HMAC-SHA1") != "HMAC-SHA1":
        raise incomplete("only SignatureMethod=HMAC-SHA1 is supported")
    secret = secret_for(values["AccessKeyId"])
    if secret is None:
        raise unknown_key(values["AccessKeyId"])
    expected = rpc_signature(secret, req.method, params)
    if not hmac.compare_digest(expected, values["Signature"]):
        raise rpc_mismatch(rpc_string_to_sign(req.method, params))
    return Credentials(values["AccessKeyId"], values["Timestamp"], values["SignatureNonce"])


def is_rpc(req: SignedRequest) -> bool:
    """Whether the request uses the classic RPC signature (which covers no header)."""
    return "authorization" not in req.headers and any(
        k == "Signature" for k, _ in list(req.query) + list(req.form)
    )


def verify(req: SignedRequest, secret_for: Callable[[str], str | None]) -> Credentials:
    """Verify whichever scheme the request uses."""
    if "authorization" in req.headers:
        return verify_acs3(req, secret_for)
    if is_rpc(req):
        return verify_rpc(req, secret_for)
    raise ApiError(
        "MissingAuthorization",
        "The request is not signed. Sign it with an AccessKey (ACS3-HMAC-SHA256) as the "
        "Alibaba Cloud SDKs do.",
        400,
    )
