"""MNS request signatures (pure): `Authorization: MNS <AccessKeyId>:<Signature>`.

    StringToSign = METHOD \\n Content-MD5 \\n Content-Type \\n Date \\n
                   CanonicalizedMNSHeaders CanonicalizedResource
    Signature    = Base64(HMAC-SHA1(AccessKeySecret, StringToSign))

CanonicalizedMNSHeaders: every `x-mns-*` header (lower-case name), sorted, as `name:value\\n`.
CanonicalizedResource: the request target exactly as sent (path, `?`, raw query). The
Content-MD5 is only a string here: the Python SDKs send base64 of the *hex* digest, which is
not checked against the body (spec B.3).
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
from collections.abc import Mapping

from imm_engine.mns.errors import MnsError


def string_to_sign(method: str, headers: Mapping[str, str], resource: str) -> str:
    """`headers` with lower-case names."""
    mns_headers = "".join(
        f"{name}:{headers[name]}\n" for name in sorted(headers) if name.startswith("x-mns-")
    )
    return (
        f"{method}\n{headers.get('content-md5', '')}\n{headers.get('content-type', '')}\n"
        f"{headers.get('date', '')}\n{mns_headers}{resource}"
    )


def sign(secret: str, method: str, headers: Mapping[str, str], resource: str) -> str:
    text = string_to_sign(method, headers, resource)
    mac = hmac.new(secret.encode(), text.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def authorization(
    access_key_id: str, secret: str, method: str, headers: Mapping[str, str], resource: str
) -> str:
    return f"MNS {access_key_id}:{sign(secret, method, headers, resource)}"


def verify(
    method: str,
    headers: Mapping[str, str],
    resource: str,
    access_keys: Mapping[str, str],
    now: float,
    max_skew_s: float,
) -> str:
    """The AccessKeyId of a correctly signed, timely request, or MnsError."""
    auth = headers.get("authorization", "")
    if not auth:
        raise MnsError("AccessDenied", "The Authorization header is missing.", 403)
    scheme, _, credential = auth.partition(" ")
    key_id, sep, signature = credential.strip().partition(":")
    if scheme != "MNS" or not sep or not key_id or not signature:
        raise MnsError(
            "InvalidAuthorizationHeader",
            "The Authorization header must be 'MNS <AccessKeyId>:<Signature>'.",
            400,
        )
    secret = access_keys.get(key_id)
    if secret is None:
        raise MnsError("InvalidAccessKeyId", "The access key id you provided is not exist.", 403)
    expected = sign(secret, method, headers, resource)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        raise MnsError(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
            403,
        )
    sent = request_time(headers)
    if abs(sent - now) > max_skew_s:
        raise MnsError(
            "TimeExpired", "The http request you sent is expired (the Date is too far off).", 408
        )
    return key_id


def request_time(headers: Mapping[str, str]) -> float:
    """Epoch seconds of the `x-mns-date` or `date` header (RFC 1123), or InvalidDateHeader."""
    raw = headers.get("x-mns-date") or headers.get("date", "")
    try:
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise MnsError("InvalidDateHeader", "The Date header must be an RFC 1123 date in GMT.", 400)
    return parsed.timestamp()
