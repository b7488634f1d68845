"""`<option>_env` indirections (imm_engine/config/env_refs.py), shared by storage and notify."""

from __future__ import annotations

from typing import Any

import pytest

from imm_engine.config.env_refs import resolve_env_refs
from imm_engine.notify.routes import parse_routes
from imm_engine.storage.config import parse_storage_config

OSS = {"type": "oss", "endpoint": "https://oss-cn-hangzhou.aliyuncs.com", "access_key_id": "ak"}


def test_resolved_from_the_given_variables() -> None:
    item = {"type": "x", "password_env": "PW", "user": "u"}
    assert resolve_env_refs(item, {"PW": "s3cret"}) == {
        "type": "x",
        "password": "s3cret",
        "user": "u",
    }


@pytest.mark.parametrize(
    ("item", "env", "message"),
    [
        pytest.param({"password_env": "PW"}, {}, "'password_env' names PW, which is not set",
                     id="unset"),
        pytest.param({"password_env": "PW"}, {"PW": ""}, "names PW, which is not set",
                     id="empty-is-unset"),
        pytest.param({"password_env": 5}, {}, "'password_env' must name an environment variable",
                     id="not-a-name"),
        pytest.param({"password_env": "PW", "password": "p"}, {"PW": "x"},
                     "give 'password' or 'password_env', not both", id="both"),
    ],
)  # fmt: skip
def test_refused(item: dict[str, Any], env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_env_refs(item, env)


def test_storage_and_notify_resolve_the_same_way() -> None:
    env = {"SECRET": "from-env"}
    storage = parse_storage_config(
        {"backends": {"a": {**OSS, "access_key_secret_env": "SECRET"}}}, env
    )
    assert storage.backends["a"].secret("access_key_secret") == "from-env"
    hook = {"type": "webhook", "url": "https://example.com/", "secret_env": "SECRET"}
    (dest,) = parse_routes({"t": hook}, env).by_key["t"]
    assert dest.secret.get_secret_value() == "from-env"
    with pytest.raises(ValueError, match="backend a: 'access_key_secret_env' names NOPE"):
        parse_storage_config({"backends": {"a": {**OSS, "access_key_secret_env": "NOPE"}}}, {})
    with pytest.raises(ValueError, match="t: 'secret_env' names NOPE"):
        parse_routes({"t": {**hook, "secret_env": "NOPE"}}, {})
