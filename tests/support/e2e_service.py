"""The session-wide service of tests/e2e (its fixtures are in tests/e2e/conftest.py): the Redis
database it uses, the bucket holding the corpus, its second topic, and its task keys."""

from __future__ import annotations

import redis

from tests.support.service import Service

REDIS_URL = "redis://127.0.0.1:6379/9"
BUCKET = "corpus-bkt"
FLAKY_TOPIC = "flaky-topic"


def task_keys(store: redis.Redis, service: Service) -> set[str]:
    """The task records (`<prefix>:task:<id>`), without their delivery logs and kept events."""
    prefix = service.env["IMM_KEY_PREFIX"]
    return {k for k in store.scan_iter(f"{prefix}:task:*", count=1000) if k.count(":") == 2}
