"""Redis URLs, plain and Sentinel (imm_engine/state/connection.py), and what uses them."""

from __future__ import annotations

from typing import Any

import pytest

from imm_engine.broker import celery_config
from imm_engine.notify.routes import parse_routes
from imm_engine.settings import Settings, SettingsError
from imm_engine.state.connection import (
    RedisTarget,
    RedisUrlError,
    kombu_broker,
    parse,
    with_sentinel_password,
)

# fmt: off
GOOD: list[tuple[str, str, RedisTarget]] = [
    ("redis://127.0.0.1:6379/0", "", RedisTarget("redis://127.0.0.1:6379/0")),
    ("unix:///run/redis.sock", "", RedisTarget("unix:///run/redis.sock")),
    ("redis+sentinel://s1:26379/mymaster", "",
     RedisTarget("redis+sentinel://s1:26379/mymaster", (("s1", 26379),), "mymaster")),
    ("redis+sentinel://s1:1,s2:2,[::1]:3/m/4", "",
     RedisTarget("redis+sentinel://s1:1,s2:2,[::1]:3/m/4",
                 (("s1", 1), ("s2", 2), ("::1", 3)), "m", db=4)),
    ("redis+sentinel://s1/m", "",
     RedisTarget("redis+sentinel://s1/m", (("s1", 26379),), "m")),
    ("redis+sentinel://:p%40ss@s1:5/m", "sp",
     RedisTarget("redis+sentinel://:p%40ss@s1:5/m", (("s1", 5),), "m",
                 password="p@ss", sentinel_password="sp")),
    ("redis+sentinel://app:pw@s1:5/m/1", "",
     RedisTarget("redis+sentinel://app:pw@s1:5/m/1", (("s1", 5),), "m", db=1,
                 username="app", password="pw")),
    ("redis+sentinel://s1:5/m?sentinel_password=q", "ignored",
     RedisTarget("redis+sentinel://s1:5/m?sentinel_password=q", (("s1", 5),), "m",
                 sentinel_password="q")),
    ("rediss+sentinel://s1:5/m", "",
     RedisTarget("rediss+sentinel://s1:5/m", (("s1", 5),), "m", ssl=True)),
]
BAD: list[tuple[str, str]] = [
    ("http://x/", "use redis://"),
    ("redis+sentinel://s1:5", "master name is missing"),
    ("redis+sentinel://s1:5/", "master name is missing"),
    ("redis+sentinel:///m", "no Sentinel host"),
    ("redis+sentinel://s1:x/m", "no valid port"),
    ("redis+sentinel://s1:70000/m", "no valid port"),
    ("redis+sentinel://s1:5/m/16", "database must be 0-15"),
    ("redis+sentinel://s1:5/m/a", "database must be 0-15"),
    ("redis+sentinel://s1:5/m/1/2", "expected /<master name>"),
    ("redis+sentinel://s1:5/m?db=2", "unknown parameter 'db'"),
]
# fmt: on


@pytest.mark.parametrize(("url", "sentinel_password", "want"), GOOD)
def test_parse(url: str, sentinel_password: str, want: RedisTarget) -> None:
    assert parse(url, sentinel_password) == want


@pytest.mark.parametrize(("url", "why"), BAD)
def test_parse_refuses(url: str, why: str) -> None:
    with pytest.raises(RedisUrlError, match=why.replace("(", r"\(")):
        parse(url)


def test_the_password_is_not_in_the_message() -> None:
    with pytest.raises(RedisUrlError) as info:
        parse("redis+sentinel://:secret@s1:x/m")
    assert "secret" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "want_url", "want_options"),
    [
        ("redis://r:6379/0", "redis://r:6379/0", {}),
        ("unix:///run/r.sock", "redis+socket:///run/r.sock", {}),
        (
            "redis+sentinel://:pw@s1:1,s2:2/m/3",
            "sentinel://:pw@s1:1/3;sentinel://:pw@s2:2/3",
            {"master_name": "m", "sentinel_kwargs": {"socket_timeout": 1.0,
                                                    "socket_connect_timeout": 1.0}},
        ),
        (
            "redis+sentinel://s1:1/m",
            "sentinel://s1:1/0",
            {"master_name": "m", "sentinel_kwargs": {"socket_timeout": 1.0,
                                                    "socket_connect_timeout": 1.0,
                                                    "password": "sp"}},
        ),
    ],
)  # fmt: skip
def test_kombu_spelling(url: str, want_url: str, want_options: dict[str, Any]) -> None:
    assert kombu_broker(url, "sp" if "pw" not in url and "sentinel" in url else "") == (
        want_url,
        want_options,
    )


def test_celery_on_sentinel_keeps_the_redis_transport_options() -> None:
    settings = Settings.from_env(
        {"IMM_REDIS_URL": "redis+sentinel://s1:1,s2:2/imm", "IMM_REDIS_SENTINEL_PASSWORD": "x"}
    )
    conf = celery_config(settings)
    assert conf["broker_url"] == "sentinel://s1:1/0;sentinel://s2:2/0"
    options = conf["broker_transport_options"]
    assert options["master_name"] == "imm"
    assert options["sentinel_kwargs"]["password"] == "x"
    assert options["visibility_timeout"] == 900
    assert options["global_keyprefix"] == "imm:celery:"
    # Bounded: a master that vanished without closing its connections cannot block a worker.
    assert options["socket_timeout"] == options["socket_connect_timeout"] == 5
    assert options["health_check_interval"] == 10


@pytest.mark.parametrize(
    ("env", "replicas"),
    [
        ({"IMM_REDIS_URL": "redis://r/0"}, 0),
        ({"IMM_REDIS_URL": "redis+sentinel://s:1/m"}, 1),
        ({"IMM_REDIS_URL": "redis+sentinel://s:1/m", "IMM_REDIS_WAIT_REPLICAS": "2"}, 2),
        ({"IMM_REDIS_URL": "redis+sentinel://s:1/m", "IMM_REDIS_WAIT_REPLICAS": "0"}, 0),
        ({"IMM_REDIS_URL": "redis://r/0", "IMM_REDIS_WAIT_REPLICAS": "1"}, 1),
    ],
)
def test_durable_replicas(env: dict[str, str], replicas: int) -> None:
    assert Settings.from_env(env).durable_replicas == replicas


def test_a_bad_sentinel_url_stops_the_settings() -> None:
    with pytest.raises(SettingsError, match=r"IMM_REDIS_URL: .*master name is missing"):
        Settings.from_env({"IMM_REDIS_URL": "redis+sentinel://s1:5"})
    with pytest.raises(SettingsError, match="IMM_BROKER_URL"):
        Settings.from_env({"IMM_BROKER_URL": "redis+sentinel://s1:5/m/99"})


def test_a_redis_stream_destination_may_be_on_sentinel() -> None:
    url = "redis+sentinel://s1:1,s2:2/m?sentinel_password=x"
    routes = parse_routes({"t": {"type": "redis_stream", "url": url, "stream": "ev"}})
    [dest] = routes.destinations({"MNS": {"TopicName": "t"}})
    assert dest.options.url == url  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="master name is missing"):
        parse_routes({"t": {"type": "redis_stream", "url": "redis+sentinel://s1", "stream": "e"}})


@pytest.mark.parametrize(
    ("url", "password", "want"),
    [
        ("redis://r/0", "x", "redis://r/0"),
        ("redis+sentinel://s:1/m", "", "redis+sentinel://s:1/m"),
        ("redis+sentinel://s:1/m", "p w", "redis+sentinel://s:1/m?sentinel_password=p%20w"),
        (
            "redis+sentinel://s:1/m?sentinel_password=a",
            "b",
            "redis+sentinel://s:1/m?sentinel_password=a",
        ),
    ],
)
def test_with_sentinel_password(url: str, password: str, want: str) -> None:
    assert with_sentinel_password(url, password) == want
    assert parse(want).sentinel_password == (parse(url, password).sentinel_password)
