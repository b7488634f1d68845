"""Shared test set-up: a clean environment, the corpus, and the real local services.

Tests use the real Redis on 127.0.0.1:6379 (database 9 for end-to-end runs, 10 for
integration tests), real LibreOffice and real HTTP servers on loopback. On a developer
machine a missing service skips its tests; in CI (CI is set) it fails them, so CI can never
pass by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.needs import IN_CI, need, redis_available
from tests.support.paths import CORPUS

# Nothing from the developer's shell leaks into the tests: settings come from each test.
for _name in list(os.environ):
    if _name.startswith("IMM_") or _name.lower() in ("http_proxy", "https_proxy", "all_proxy"):
        del os.environ[_name]


@pytest.fixture(scope="session")
def corpus() -> Path:
    return CORPUS


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = "redis://127.0.0.1:6379/10"
    need(redis_available(url), "Redis on 127.0.0.1:6379")
    yield url


# --- hostile input: Hypothesis profiles ---
# Bounded so the suite stays fast: "default" for developers, "ci" (derandomized: a CI run
# never fails on an input no developer run could reproduce). HYPOTHESIS_PROFILE picks another.
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "default", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
# HYPOTHESIS_PROFILE=thorough: ten times the examples, for a deliberate hunt (minutes).
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if IN_CI else "default"))
