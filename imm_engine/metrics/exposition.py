"""Rendering a scrape and checking its optional bearer token (shared by the API's /metrics and
the worker group's endpoint)."""

from __future__ import annotations

import hmac

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

CONTENT_TYPE = CONTENT_TYPE_LATEST


def authorized(header: str | None, token: str) -> bool:
    """True when no token is configured, or `header` is `Bearer <token>` (constant time)."""
    if not token:
        return True
    scheme, _, value = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode(), token.encode())


def render(*registries: CollectorRegistry) -> bytes:
    """The text exposition of every registry, one after the other (their names differ)."""
    return b"".join(generate_latest(r) for r in registries)
