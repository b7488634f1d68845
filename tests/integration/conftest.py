"""Fixtures shared by the integration tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from imm_engine.state.keys import Keys


@pytest.fixture()
def keys(redis_url: str) -> Iterator[Keys]:
    """A unique key prefix on the shared Redis, deleted after the test."""
    k = Keys(f"immtest{uuid.uuid4().hex[:8]}")
    yield k
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{k.prefix}*"):
        client.delete(key)
