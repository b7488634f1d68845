"""HTTP webhook delivery: POST the IMM message, signed with HMAC-SHA256.

Headers sent with every delivery:

    Content-Type: application/json
    X-Imm-Event-Id: <EventId>          same on every retry: deduplicate on it
    X-Imm-Task-Id: <TaskId>
    X-Imm-Delivery-Attempt: <n>        1 for the first attempt
    X-Imm-Timestamp: <unix seconds>
    X-Imm-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>   when a secret is set

A 2xx answer is a delivery; anything else, or no answer within the timeout, is retried.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlsplit

import httpx

from imm_engine import __version__
from imm_engine.notify.addresses import check_host
from imm_engine.notify.routes import Destination
from imm_engine.notify.senders.base import BaseSender, Delivery, Outcome, Rejected


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def headers_for(
    dest: Destination, body: bytes, event_id: str, task_id: str, attempt: int, now: float
) -> dict[str, str]:
    timestamp = str(int(now))
    # Configured headers first: they can add (e.g. Authorization) but never replace ours.
    headers = {
        k: v
        for k, v in dest.headers
        if not k.lower().startswith("x-imm-") and k.lower() != "content-type"
    }
    headers |= {
        "Content-Type": "application/json",
        "User-Agent": f"imm-engine/{__version__}",
        "X-Imm-Event-Id": event_id,
        "X-Imm-Task-Id": task_id,
        "X-Imm-Delivery-Attempt": str(attempt),
        "X-Imm-Timestamp": timestamp,
    }
    secret = dest.secret.get_secret_value()
    if secret:
        headers["X-Imm-Signature"] = signature(secret, timestamp, body)
    return headers


class WebhookSender(BaseSender):
    failures = (httpx.HTTPError,)

    def __init__(self) -> None:
        # No proxies from the environment, no redirects (a redirect could lead anywhere).
        self.client = httpx.Client(trust_env=False, follow_redirects=False)

    def send(
        self, dest: Destination, body: bytes, event_id: str, task_id: str, attempt: int
    ) -> Outcome:
        """A destination the address policy refuses is given up on before any attempt."""
        parts = urlsplit(dest.url)
        if not dest.allow_private:
            reason = check_host(
                parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
            )
            if reason:
                return Outcome(
                    False, error=f"refused: {reason} (set allow_private to permit)", permanent=True
                )
        return super().send(dest, body, event_id, task_id, attempt)

    def deliver(self, dest: Destination, delivery: Delivery) -> int:
        response = self.client.post(
            dest.url,
            content=delivery.body,
            headers=headers_for(
                dest,
                delivery.body,
                delivery.event_id,
                delivery.task_id,
                delivery.attempt,
                time.time(),
            ),
            timeout=dest.timeout_s,
        )
        if not 200 <= response.status_code < 300:
            raise Rejected(f"HTTP {response.status_code}", status=response.status_code)
        return response.status_code

    def close(self) -> None:
        self.client.close()
