"""What the service exposes (imm_engine/service/exposure.py): the public default key pair only on
loopback; Flower only with a login from IMM_FLOWER_BASIC_AUTH."""

from __future__ import annotations

import pytest

from imm_engine.service import exposure
from imm_engine.settings import Settings, SettingsError


@pytest.mark.parametrize("host", ["127.0.0.1", "127.9.9.9", "::1", "[::1]", "localhost"])
def test_loopback_addresses(host: str) -> None:
    assert exposure.is_loopback(host)


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "::", "", "10.0.0.5", "api.internal", "localhost.evil"]
)
def test_other_addresses_are_not_loopback(host: str) -> None:
    assert not exposure.is_loopback(host)


def test_default_pair_on_every_interface_is_refused_naming_what_to_set() -> None:
    reason = exposure.api_refusal(Settings.from_env({"IMM_API_HOST": "0.0.0.0"}))
    assert reason is not None
    assert "IMM_ACCESS_KEY_ID" in reason and "IMM_ACCESS_KEY_SECRET" in reason
    assert "0.0.0.0" in reason


def test_default_pair_on_loopback_and_own_keys_anywhere_are_accepted() -> None:
    assert exposure.api_refusal(Settings.from_env({})) is None
    own = {"IMM_API_HOST": "0.0.0.0", "IMM_ACCESS_KEY_ID": "k1", "IMM_ACCESS_KEY_SECRET": "s1"}
    assert exposure.api_refusal(Settings.from_env(own)) is None
    extra = {"IMM_API_HOST": "0.0.0.0", "IMM_ACCESS_KEYS": "k2:s2"}
    assert exposure.api_refusal(Settings.from_env(extra)) is None


def test_banner_names_address_and_key_ids_never_secrets() -> None:
    env = {"IMM_API_HOST": "0.0.0.0", "IMM_API_PORT": "9000", "IMM_ACCESS_KEYS": "k1:s3cr3t"}
    line = exposure.api_banner(Settings.from_env(env))
    assert "http://0.0.0.0:9000" in line and "k1" in line
    assert "s3cr3t" not in line


def test_flower_without_login_is_refused() -> None:
    reason = exposure.flower_refusal(Settings.from_env({}))
    assert reason is not None and "IMM_FLOWER_BASIC_AUTH" in reason


def test_flower_logins_parse() -> None:
    s = Settings.from_env({"IMM_FLOWER_BASIC_AUTH": "ops:long-enough, bob:pa:ss:word"})
    assert tuple(login.get_secret_value() for login in s.flower_basic_auth) == (
        "ops:long-enough",
        "bob:pa:ss:word",
    )
    assert exposure.flower_refusal(s) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ops", "must look like"),
        (":password1", "must look like"),
        ("ops:", "must look like"),
        ("ops:long-enough,", "must look like"),
        ("ops:short", "shorter than 8"),
    ],
)
def test_bad_flower_logins_are_refused(value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({"IMM_FLOWER_BASIC_AUTH": value})


def test_flower_env_sets_the_login_and_drops_other_flower_options() -> None:
    s = Settings.from_env({"IMM_FLOWER_BASIC_AUTH": "ops:long-enough"})
    env = exposure.flower_env(
        s, {"FLOWER_UNAUTHENTICATED_API": "true", "FLOWER_BASIC_AUTH": "x:y", "PATH": "/bin"}
    )
    assert env == {"FLOWER_BASIC_AUTH": "ops:long-enough", "PATH": "/bin"}
