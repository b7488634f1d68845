"""Raw ACS3-HMAC-SHA256 requests for hostile-input tests, written from the spec (10.3).

The SDK's own signer (tests/support/service.py `signed_headers`) takes a dict, so it cannot sign
a parameter given twice, a request without `x-acs-version`, or a body of any content type.
This one signs exactly the pairs, headers and body it is given; it shares no code with the
server's verifier.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import quote, urlencode

import httpx

ACS3 = "ACS3-HMAC-SHA256"


def _enc(value: str) -> str:
    return quote(value, safe="~", encoding="utf-8")


def sign(
    host: str,
    query: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    *,
    key_id: str,
    secret: str,
    action: str | None = "CreateOfficeConversionTask",
    version: str | None = "2020-09-30",
    method: str = "POST",
    content_type: str | None = None,
    date: str | None = None,
    nonce: str | None = None,
    extra: Mapping[str, str] | None = None,
    unsigned: Iterable[str] = (),
) -> dict[str, str]:
    """Headers (with Authorization) for a request; `unsigned` names headers left unsigned."""
    headers: dict[str, str] = {
        "host": host,
        "x-acs-date": date or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "x-acs-signature-nonce": nonce or uuid.uuid4().hex,
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
    }
    if action is not None:
        headers["x-acs-action"] = action
    if version is not None:
        headers["x-acs-version"] = version
    if content_type is not None:
        headers["content-type"] = content_type
    headers.update({k.lower(): v for k, v in (extra or {}).items()})
    skip = {h.lower() for h in unsigned}
    signed = sorted(h for h in headers if h not in skip)
    canonical = "\n".join(
        [
            method,
            "/",
            "&".join(f"{_enc(k)}={_enc(v)}" for k, v in sorted(query)),
            "".join(f"{h}:{headers[h].strip()}\n" for h in signed),
            ";".join(signed),
            headers["x-acs-content-sha256"],
        ]
    )
    to_sign = f"{ACS3}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"
    signature = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"{ACS3} Credential={key_id},SignedHeaders={';'.join(signed)},Signature={signature}"
    )
    return headers


def raw_query(pairs: Sequence[tuple[str, str]]) -> bytes:
    """The query string as the SDK sends it (urlencode, space as `+`)."""
    return urlencode(list(pairs), encoding="utf-8").encode("ascii")


def send(
    client: httpx.Client,
    headers: Mapping[str, str],
    query: bytes = b"",
    body: bytes = b"",
    method: str = "POST",
) -> httpx.Response:
    """Send exactly these query bytes (httpx would re-encode a query given as pairs)."""
    url = client.base_url.copy_with(raw_path=b"/" + (b"?" + query if query else b""))
    return client.request(method, url, headers=dict(headers), content=body)


def sign_rpc(
    pairs: Sequence[tuple[str, str]],
    *,
    key_id: str,
    secret: str,
    method: str = "POST",
    action: str | None = "CreateOfficeConversionTask",
    version: str | None = "2020-09-30",
    timestamp: str | None = None,
    nonce: str | None = None,
) -> list[tuple[str, str]]:
    """The classic RPC (v2, HMAC-SHA1) parameter set: `pairs` plus the signature's own."""
    params = [*pairs]
    if action is not None:
        params.append(("Action", action))
    if version is not None:
        params.append(("Version", version))
    params += [
        ("Format", "json"),
        ("Timestamp", timestamp or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())),
        ("SignatureNonce", nonce or uuid.uuid4().hex),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("AccessKeyId", key_id),
    ]
    canonical = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in sorted(params))
    to_sign = f"{method}&%2F&{_enc(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return [*params, ("Signature", base64.b64encode(digest).decode())]
