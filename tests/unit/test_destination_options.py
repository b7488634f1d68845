"""Per-type destination settings (imm_engine/notify/options.py via parse_routes)."""

from __future__ import annotations

from typing import Any

import pytest

from imm_engine.notify.options import (
    AmqpOptions,
    MnsOptions,
    MqttOptions,
    RedisStreamOptions,
    RocketMqOptions,
    wrap_topic_default,
)
from imm_engine.notify.routes import Destination, parse_routes

REDIS = {"type": "redis_stream", "url": "redis://127.0.0.1:6379/0", "stream": "imm-events"}
AMQP = {"type": "amqp", "url": "amqp://guest:guest@127.0.0.1:5672/", "exchange": "imm"}
MQTT = {"type": "mqtt", "host": "127.0.0.1", "topic": "imm/events"}
MNS = {
    "type": "mns",
    "endpoint": "https://1234.mns.cn-hangzhou.aliyuncs.com/",
    "topic": "imm-topic",
    "access_key_id": "AK",
    "access_key_secret": "SK",
}
ROCKETMQ = {"type": "rocketmq", "endpoints": "127.0.0.1:8081", "topic": "imm"}


def one(item: dict[str, Any], key: str = "t", environ: dict[str, str] | None = None) -> Destination:
    (dest,) = parse_routes({key: item}, environ or {}).by_key[key]
    return dest


ACCEPTED = [
    pytest.param(REDIS, RedisStreamOptions("redis://127.0.0.1:6379/0", "imm-events"),
                 id="redis-defaults"),
    pytest.param({**REDIS, "maxlen": 1000},
                 RedisStreamOptions("redis://127.0.0.1:6379/0", "imm-events", 1000),
                 id="redis-maxlen"),
    pytest.param(AMQP, AmqpOptions("amqp://guest:guest@127.0.0.1:5672/", "imm"),
                 id="amqp-defaults"),
    pytest.param({**AMQP, "exchange": "", "routing_key": "q1"},
                 AmqpOptions("amqp://guest:guest@127.0.0.1:5672/", "", "q1"),
                 id="amqp-default-exchange"),
    pytest.param({**AMQP, "exchange_type": "fanout", "durable": False, "persistent": False,
                  "confirm": False, "mandatory": False, "declare": False, "routing_key": "k"},
                 AmqpOptions("amqp://guest:guest@127.0.0.1:5672/", "imm", "k", "fanout",
                             declare=False, durable=False, persistent=False, confirm=False,
                             mandatory=False), id="amqp-all"),
    pytest.param(MQTT, MqttOptions("127.0.0.1", "imm/events"), id="mqtt-defaults"),
    pytest.param({**MQTT, "tls": True}, MqttOptions("127.0.0.1", "imm/events", port=8883, tls=True),
                 id="mqtt-tls-port"),
    pytest.param({**MQTT, "qos": 2, "username": "u", "password": "p", "protocol": "3.1.1"},
                 MqttOptions("127.0.0.1", "imm/events", qos=2, username="u", password="p",
                             protocol="3.1.1"), id="mqtt-auth"),
    pytest.param(MNS, MnsOptions("https://1234.mns.cn-hangzhou.aliyuncs.com", "AK", "SK",
                                 topic="imm-topic"), id="mns-topic"),
    pytest.param({**MNS, "topic": "", "queue": "q", "base64": True},
                 MnsOptions("https://1234.mns.cn-hangzhou.aliyuncs.com", "AK", "SK", queue="q",
                            base64=True), id="mns-queue"),
    pytest.param(ROCKETMQ, RocketMqOptions("127.0.0.1:8081", "imm"), id="rocketmq"),
]  # fmt: skip


@pytest.mark.parametrize(("item", "options"), ACCEPTED)
def test_accepted(item: dict[str, Any], options: object) -> None:
    dest = one(item)
    assert dest.type == item["type"]
    assert dest.options == options
    assert dest.wrap == "raw" and dest.timeout_s == 5.0


REFUSED = [
    pytest.param({**REDIS, "url": "http://x"}, "t: 'url' must be a redis:// or rediss:// or unix://",
                 id="redis-scheme"),
    pytest.param({"type": "redis_stream", "url": "redis://h"}, "t: 'stream' is required",
                 id="redis-no-stream"),
    pytest.param({**REDIS, "stream": ""}, "t: 'stream' must not be empty", id="redis-empty-stream"),
    pytest.param({**REDIS, "maxlen": -1}, "'maxlen' must be an integer in [0,", id="redis-maxlen"),
    pytest.param({**AMQP, "url": "redis://h"}, "'url' must be a amqp:// or amqps://",
                 id="amqp-url"),
    pytest.param({**AMQP, "exchange": ""}, "needs a 'routing_key'", id="amqp-default-no-key"),
    pytest.param({"type": "amqp", "url": "amqp://h"}, "'exchange' is required",
                 id="amqp-no-exchange"),
    pytest.param({**AMQP, "exchange_type": "x"}, "'exchange_type' must be one of direct, fanout",
                 id="amqp-exchange-type"),
    pytest.param({**AMQP, "durable": "yes"}, "'durable' must be true or false", id="amqp-durable"),
    pytest.param({**MQTT, "topic": "imm/#"}, "must not contain the wildcards", id="mqtt-wildcard"),
    pytest.param({**MQTT, "qos": 3}, "'qos' must be an integer in [0, 2]", id="mqtt-qos"),
    pytest.param({**MQTT, "port": 0}, "'port' must be an integer in [1, 65535]", id="mqtt-port"),
    pytest.param({**MQTT, "password": "p"}, "'password' needs a 'username'", id="mqtt-password"),
    pytest.param({**MQTT, "protocol": 5}, "'protocol' must be one of 5, 3.1.1", id="mqtt-protocol"),
    pytest.param({"type": "mqtt", "topic": "a"}, "'host' is required", id="mqtt-no-host"),
    pytest.param({**MNS, "queue": "q"}, "exactly one of 'topic'", id="mns-both"),
    pytest.param({**MNS, "topic": ""}, "exactly one of 'topic'", id="mns-neither"),
    pytest.param({**MNS, "endpoint": "1234.mns.aliyuncs.com"}, "'endpoint' must be a http://",
                 id="mns-endpoint"),
    pytest.param({**MNS, "access_key_secret": ""}, "'access_key_secret' must not be empty",
                 id="mns-empty-secret"),
    pytest.param({**MNS, "topic": "", "queue": "q", "message_tag": "x"}, "applies to a topic",
                 id="mns-queue-tag"),
    pytest.param({**ROCKETMQ, "access_key": "a"}, "both 'access_key' and 'secret_key'",
                 id="rocketmq-half-credentials"),
    pytest.param({**REDIS, "wrap": "xml"}, "'wrap' must be one of raw, mns-json", id="wrap"),
    pytest.param({**REDIS, "timeout": 0}, "'timeout' must be a number", id="timeout"),
]  # fmt: skip


@pytest.mark.parametrize(("item", "fragment"), REFUSED)
def test_refused(item: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError) as err:
        one(item)
    assert fragment in str(err.value)


def test_secrets_from_the_environment() -> None:
    item = {**MNS, "access_key_secret_env": "MNS_SECRET"}
    del item["access_key_secret"]
    dest = one(item, environ={"MNS_SECRET": "from-env"})
    assert isinstance(dest.options, MnsOptions)
    assert dest.options.access_key_secret.get_secret_value() == "from-env"
    url = one(
        {"type": "redis_stream", "stream": "s", "url_env": "R"}, environ={"R": "redis://h:1/2"}
    )
    assert isinstance(url.options, RedisStreamOptions) and url.options.url == "redis://h:1/2"


def test_secret_variable_missing_or_doubled() -> None:
    item = {**MQTT, "username": "u", "password_env": "MQTT_PW"}
    with pytest.raises(ValueError, match="'password_env' names MQTT_PW, which is not set"):
        one(item)
    with pytest.raises(ValueError, match="give 'password' or 'password_env', not both"):
        one({**item, "password": "p"}, environ={"MQTT_PW": "x"})


def test_wrap_defaults_to_the_route_topic() -> None:
    dest = one({**REDIS, "wrap": "mns-json"}, key="mns:imm-topic")
    assert (dest.wrap, dest.wrap_topic, dest.wrap_subscription) == (
        "mns-json",
        "imm-topic",
        "imm-engine",
    )
    named = one({**REDIS, "wrap": "mns-json", "wrap_topic": "t2", "wrap_subscription": "s"})
    assert (named.wrap_topic, named.wrap_subscription) == ("t2", "s")


@pytest.mark.parametrize(
    ("key", "topic"),
    [("mns:a", "a"), ("rocketmq:MQ_INST_1/b", "b"), ("rocketmq:c", "c"), ("d", "d"),
     ("*", "imm-engine")],
)  # fmt: skip
def test_wrap_topic_default(key: str, topic: str) -> None:
    assert wrap_topic_default(key) == topic


def test_webhook_is_unchanged() -> None:
    dest = one({"type": "webhook", "url": "https://example.com/"})
    assert dest == Destination(name="t", type="webhook", url="https://example.com/")
    assert dest.options is None
