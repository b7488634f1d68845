"""Webhook signatures and headers (the pure parts of imm_engine/notify/senders/webhook.py).

A receiver verifies `X-Imm-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`
with nothing but the standard library; `receiver_accepts` below is that receiver.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from imm_engine import __version__
from imm_engine.notify.routes import Destination
from imm_engine.notify.senders.webhook import headers_for, signature

SECRET = "s3cret"
BODY = json.dumps(
    {"id": "E-1", "content": json.dumps({"Status": "Succeeded", "Tags": {"u": "张三"}})},
    ensure_ascii=False,
).encode()
NOW = 1724137388.9


def receiver_accepts(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a webhook receiver does with a delivery (documented in webhook.py)."""
    given = headers.get("X-Imm-Signature", "")
    if not given.startswith("v1="):
        return False
    message = headers["X-Imm-Timestamp"].encode() + b"." + body
    expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given[3:])


def dest(secret: str = SECRET, headers: tuple[tuple[str, str], ...] = ()) -> Destination:
    return Destination("hook", "webhook", "https://example.com/imm", secret, headers=headers)


def test_signature_known_vector() -> None:
    expected = hmac.new(b"key", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert signature("key", "1700000000", b"{}") == f"v1={expected}"
    assert len(expected) == 64


def test_headers_for_with_secret() -> None:
    headers = headers_for(dest(), BODY, "E-1", "OfficeConversion-1", 3, NOW)
    assert headers == {
        "Content-Type": "application/json",
        "User-Agent": f"imm-engine/{__version__}",
        "X-Imm-Event-Id": "E-1",
        "X-Imm-Task-Id": "OfficeConversion-1",
        "X-Imm-Delivery-Attempt": "3",
        "X-Imm-Timestamp": "1724137388",
        "X-Imm-Signature": signature(SECRET, "1724137388", BODY),
    }


def test_receiver_verifies_a_delivery() -> None:
    headers = headers_for(dest(), BODY, "E-1", "T-1", 1, NOW)
    assert receiver_accepts(SECRET, headers, BODY)


TAMPERED = [
    # (secret the receiver holds, header overrides, body)
    pytest.param("other-secret", {}, BODY, id="wrong-secret"),
    pytest.param(SECRET, {}, BODY.replace(b"Succeeded", b"Failed"), id="tampered-body"),
    pytest.param(SECRET, {"X-Imm-Timestamp": "1724137389"}, BODY, id="tampered-timestamp"),
    pytest.param(SECRET, {"X-Imm-Signature": "v1=" + "0" * 64}, BODY, id="forged-signature"),
]  # fmt: skip


@pytest.mark.parametrize(("secret", "override", "body"), TAMPERED)
def test_receiver_rejects(secret: str, override: dict[str, str], body: bytes) -> None:
    headers = {**headers_for(dest(), BODY, "E-1", "T-1", 1, NOW), **override}
    assert not receiver_accepts(secret, headers, body)


def test_no_secret_no_signature_header() -> None:
    headers = headers_for(dest(secret=""), BODY, "E-1", "T-1", 1, NOW)
    assert "X-Imm-Signature" not in headers
    assert not receiver_accepts(SECRET, headers, BODY)


def test_event_id_is_the_same_on_every_attempt() -> None:
    first = headers_for(dest(), BODY, "E-1", "T-1", 1, NOW)
    retry = headers_for(dest(), BODY, "E-1", "T-1", 2, NOW + 60)
    assert first["X-Imm-Event-Id"] == retry["X-Imm-Event-Id"] == "E-1"
    assert (first["X-Imm-Delivery-Attempt"], retry["X-Imm-Delivery-Attempt"]) == ("1", "2")
    assert first["X-Imm-Signature"] != retry["X-Imm-Signature"]  # new timestamp, new MAC
    assert receiver_accepts(SECRET, retry, BODY)


def test_configured_headers_are_added() -> None:
    headers = headers_for(dest(headers=(("X-Env", "prod"),)), BODY, "E-1", "T-1", 1, NOW)
    assert headers["X-Env"] == "prod"
    assert receiver_accepts(SECRET, headers, BODY)
