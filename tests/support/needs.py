"""What a test needs from the machine: skipped on a developer machine, failed in CI.

CI sets `CI`, so a CI run can never pass by skipping a test whose service is missing.
"""

from __future__ import annotations

import os

import pytest
import redis

IN_CI = bool(os.environ.get("CI"))


def need(condition: bool, reason: str) -> None:
    """Skip on a developer machine, fail in CI."""
    if not condition:
        if IN_CI:
            pytest.fail(f"required for CI: {reason}")
        pytest.skip(reason)


def redis_available(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False
