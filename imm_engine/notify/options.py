"""Per-type settings of a notification destination, validated when the service starts (pure).

Each destination type other than `webhook` has its own frozen, typed options object (a section
of `Settings.notify_routes`), built from the destination's JSON by `parse_options`. Secrets are
`SecretStr`; any option may be given through an environment variable named by `<option>_env`
(e.g. `"password_env": "MQTT_PASSWORD"`), resolved before this module sees the JSON
(imm_engine/config/env_refs.py, called by imm_engine/notify/routes.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr
from pydantic.dataclasses import dataclass

from imm_engine.state import connection


@dataclass(frozen=True)
class RedisStreamOptions:
    url: str
    stream: str
    #: Approximate cap on the stream's length (XADD MAXLEN ~); 0 keeps every entry.
    maxlen: int = 0


@dataclass(frozen=True)
class AmqpOptions:
    url: str
    exchange: str
    routing_key: str = ""
    exchange_type: str = "topic"
    #: Declare the exchange (idempotent) on connect; false for an exchange managed elsewhere.
    declare: bool = True
    durable: bool = True
    #: delivery_mode 2: the broker writes the message to disk in durable queues.
    persistent: bool = True
    #: Wait for the broker's publisher confirm before counting a delivery.
    confirm: bool = True
    #: An unroutable message (no queue bound) is a failed delivery, retried.
    mandatory: bool = True


@dataclass(frozen=True)
class MqttOptions:
    host: str
    topic: str
    port: int = 1883
    qos: int = 1
    username: str = ""
    password: SecretStr = SecretStr("")
    tls: bool = False
    ca_file: str = ""
    #: "5" (MQTT 5, the EventId also travels as a user property) or "3.1.1".
    protocol: str = "5"
    client_id: str = ""
    retain: bool = False


@dataclass(frozen=True)
class MnsOptions:
    endpoint: str
    access_key_id: str
    access_key_secret: SecretStr
    topic: str = ""
    queue: str = ""
    message_tag: str = ""
    #: Queue only: base64-encode the body (the SDK's default for queues); off by default so
    #: consumers read the JSON as published.
    base64: bool = False


@dataclass(frozen=True)
class RocketMqOptions:
    endpoints: str
    topic: str
    access_key: str = ""
    secret_key: SecretStr = SecretStr("")
    namespace: str = ""
    tag: str = ""
    tls: bool = False


Options = RedisStreamOptions | AmqpOptions | MqttOptions | MnsOptions | RocketMqOptions

EXCHANGE_TYPES = ("direct", "fanout", "topic", "headers")
WRAPS = ("raw", "mns-json")


class _Reader:
    """Typed access to one destination's JSON with error messages naming it."""

    def __init__(self, name: str, item: Mapping[str, Any]) -> None:
        self.name, self.item = name, item

    def fail(self, message: str) -> ValueError:
        return ValueError(f"{self.name}: {message}")

    def string(self, key: str, default: str | None = None) -> str:
        value = self.item.get(key, default)
        if value is None:
            raise self.fail(f"'{key}' is required")
        if not isinstance(value, str):
            raise self.fail(f"'{key}' must be a string")
        return value

    def required(self, key: str) -> str:
        value = self.string(key, None)
        if not value:
            raise self.fail(f"'{key}' must not be empty")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.item.get(key, default)
        if not isinstance(value, bool):  # bool("false") would be True
            raise self.fail(f"'{key}' must be true or false")
        return value

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.item.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(f"'{key}' must be an integer in [{low}, {high}]")
        return value

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.item.get(key, default)
        if value not in choices:
            raise self.fail(f"'{key}' must be one of {', '.join(choices)} (got {value!r})")
        return str(value)

    def url(self, key: str, schemes: tuple[str, ...]) -> str:
        value = self.required(key)
        parts = urlsplit(value)
        if "redis+sentinel" in schemes and connection.is_sentinel_url(value):
            try:
                connection.parse(value)
            except connection.RedisUrlError as exc:
                raise self.fail(f"'{key}': {exc}") from None
            return value
        if parts.scheme not in schemes or not parts.hostname:
            shown = " or ".join(f"{s}://" for s in schemes)
            raise self.fail(f"'{key}' must be a {shown} URL with a host")
        return value


def _redis_stream(r: _Reader) -> RedisStreamOptions:
    return RedisStreamOptions(
        url=r.url("url", ("redis", "rediss", "unix", "redis+sentinel", "rediss+sentinel")),
        stream=r.required("stream"),
        maxlen=r.integer("maxlen", 0, 0, 10**9),
    )


def _amqp(r: _Reader) -> AmqpOptions:
    exchange = r.string("exchange")
    routing_key = r.string("routing_key", "")
    if not exchange and not routing_key:
        raise r.fail("the default exchange ('exchange': \"\") needs a 'routing_key' (a queue)")
    return AmqpOptions(
        url=r.url("url", ("amqp", "amqps")),
        exchange=exchange,
        routing_key=routing_key,
        exchange_type=r.choice("exchange_type", "topic", EXCHANGE_TYPES),
        declare=r.boolean("declare", True),
        durable=r.boolean("durable", True),
        persistent=r.boolean("persistent", True),
        confirm=r.boolean("confirm", True),
        mandatory=r.boolean("mandatory", True),
    )


def _mqtt(r: _Reader) -> MqttOptions:
    topic = r.required("topic")
    if "+" in topic or "#" in topic:
        raise r.fail("'topic' must not contain the wildcards + or #")
    tls = r.boolean("tls", False)
    username = r.string("username", "")
    password = r.string("password", "")
    if password and not username:
        raise r.fail("'password' needs a 'username'")
    return MqttOptions(
        host=r.required("host"),
        topic=topic,
        port=r.integer("port", 8883 if tls else 1883, 1, 65535),
        qos=r.integer("qos", 1, 0, 2),
        username=username,
        password=SecretStr(password),
        tls=tls,
        ca_file=r.string("ca_file", ""),
        protocol=r.choice("protocol", "5", ("5", "3.1.1")),
        client_id=r.string("client_id", ""),
        retain=r.boolean("retain", False),
    )


def _mns(r: _Reader) -> MnsOptions:
    endpoint = r.url("endpoint", ("http", "https"))
    topic, queue = r.string("topic", ""), r.string("queue", "")
    if bool(topic) == bool(queue):
        raise r.fail("give exactly one of 'topic' (PublishMessage) or 'queue' (SendMessage)")
    tag = r.string("message_tag", "")
    if tag and queue:
        raise r.fail("'message_tag' applies to a topic, not a queue")
    return MnsOptions(
        endpoint=endpoint.rstrip("/"),
        access_key_id=r.required("access_key_id"),
        access_key_secret=SecretStr(r.required("access_key_secret")),
        topic=topic,
        queue=queue,
        message_tag=tag,
        base64=r.boolean("base64", False),
    )


def _rocketmq(r: _Reader) -> RocketMqOptions:
    access_key = r.string("access_key", "")
    secret_key = r.string("secret_key", "")
    if bool(access_key) != bool(secret_key):
        raise r.fail("give both 'access_key' and 'secret_key', or neither")
    return RocketMqOptions(
        endpoints=r.required("endpoints"),
        topic=r.required("topic"),
        access_key=access_key,
        secret_key=SecretStr(secret_key),
        namespace=r.string("namespace", ""),
        tag=r.string("tag", ""),
        tls=r.boolean("tls", False),
    )


PARSERS: dict[str, Callable[[_Reader], Options]] = {
    "redis_stream": _redis_stream,
    "amqp": _amqp,
    "mqtt": _mqtt,
    "mns": _mns,
    "rocketmq": _rocketmq,
}


def parse_options(kind: str, name: str, item: Mapping[str, Any]) -> Options:
    """The options of a destination of type `kind` (not `webhook`); ValueError naming it."""
    return PARSERS[kind](_Reader(name, item))


def parse_wrap(name: str, item: Mapping[str, Any]) -> str:
    return _Reader(name, item).choice("wrap", "raw", WRAPS)


def wrap_topic_default(route_key: str) -> str:
    """The TopicName an MNS-style wrapper shows by default: the topic named by the route key."""
    if route_key == "*":
        return "imm-engine"
    topic = route_key.split(":", 1)[1] if ":" in route_key else route_key
    return topic.rsplit("/", 1)[-1]
