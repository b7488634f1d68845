"""The built-in MNS's settings (IMM_MNS, IMM_MNS_PORT) and its place on the API port."""

from __future__ import annotations

import pytest
from starlette.routing import Route

from imm_engine.api.app import create_app
from imm_engine.settings import Settings, SettingsError


def test_defaults() -> None:
    s = Settings.from_env({})
    assert (s.mns_enabled, s.mns_port) == (True, 8081)


def test_values() -> None:
    s = Settings.from_env({"IMM_MNS": "off", "IMM_MNS_PORT": "9000"})
    assert (s.mns_enabled, s.mns_port) == (False, 9000)


@pytest.mark.parametrize(
    ("env", "name"), [({"IMM_MNS": "yes"}, "IMM_MNS"), ({"IMM_MNS_PORT": "x"}, "IMM_MNS_PORT")]
)
def test_refused(env: dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env(env)
    assert name in str(err.value)


@pytest.mark.parametrize("enabled", [True, False])
def test_api_app_mounts_mns_only_when_enabled(enabled: bool) -> None:
    settings = Settings(redis_url="redis://127.0.0.1:6379/10", mns_enabled=enabled)
    paths = [r.path for r in create_app(settings).routes if isinstance(r, Route)]
    assert ("/queues/{rest:path}" in paths) is enabled
    assert ("/topics" in paths) is enabled
    assert paths[-1] == "/{path:path}"  # the catch-all stays last
