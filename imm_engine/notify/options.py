"""Per-type settings of a notification destination, validated when the service starts (pure).

Each destination type other than `webhook` has its own frozen, typed options object (part of
the `notify_routes` section of `Settings`): a pydantic dataclass whose fields give the JSON
keys, their types, bounds and defaults, validated by `parse_options` (imm_engine/config/
sections.py words the problems). Secrets are `SecretStr`. Any option may be given through an
environment variable named by `<option>_env` (e.g. `"password_env": "MQTT_PASSWORD"`),
resolved before this module sees the JSON (imm_engine/config/env_refs.py, from
imm_engine/notify/routes.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, ConfigDict, Field, SecretStr, ValidationInfo, model_validator
from pydantic.dataclasses import dataclass

from imm_engine.config.sections import parse_section
from imm_engine.state import connection

#: Keys of the destination's JSON that are not options (`type`, `timeout`, `wrap`...) pass by.
_SECTION = ConfigDict(extra="ignore")

Text = Annotated[str, Field(strict=True)]
Required = Annotated[str, Field(strict=True, min_length=1)]
Flag = Annotated[bool, Field(strict=True)]


def _nonempty_secret(value: SecretStr, info: ValidationInfo) -> SecretStr:
    if not value.get_secret_value():
        raise ValueError(f"'{info.field_name}' must not be empty")
    return value


RequiredSecret = Annotated[SecretStr, AfterValidator(_nonempty_secret)]


def _url(*schemes: str) -> AfterValidator:
    """A URL of one of `schemes` with a host (a Sentinel URL is checked whole)."""

    def check(value: str, info: ValidationInfo) -> str:
        key = info.field_name
        if "redis+sentinel" in schemes and connection.is_sentinel_url(value):
            try:
                connection.parse(value)
            except connection.RedisUrlError as exc:
                raise ValueError(f"'{key}': {exc}") from None
            return value
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.hostname:
            shown = " or ".join(f"{s}://" for s in schemes)
            raise ValueError(f"'{key}' must be a {shown} URL with a host")
        return value

    return AfterValidator(check)


@dataclass(frozen=True, config=_SECTION)
class RedisStreamOptions:
    url: Annotated[Required, _url("redis", "rediss", "unix", "redis+sentinel", "rediss+sentinel")]
    stream: Required
    #: Approximate cap on the stream's length (XADD MAXLEN ~); 0 keeps every entry.
    maxlen: Annotated[int, Field(strict=True, ge=0, le=10**9)] = 0


@dataclass(frozen=True, config=_SECTION)
class AmqpOptions:
    url: Annotated[Required, _url("amqp", "amqps")]
    exchange: Text
    routing_key: Text = ""
    exchange_type: Literal["direct", "fanout", "topic", "headers"] = "topic"
    #: Declare the exchange (idempotent) on connect; false for an exchange managed elsewhere.
    declare: Flag = True
    durable: Flag = True
    #: delivery_mode 2: the broker writes the message to disk in durable queues.
    persistent: Flag = True
    #: Wait for the broker's publisher confirm before counting a delivery.
    confirm: Flag = True
    #: An unroutable message (no queue bound) is a failed delivery, retried.
    mandatory: Flag = True

    @model_validator(mode="after")
    def _default_exchange(self) -> Self:
        if not self.exchange and not self.routing_key:
            raise ValueError(
                "the default exchange ('exchange': \"\") needs a 'routing_key' (a queue)"
            )
        return self


@dataclass(frozen=True, config=_SECTION)
class MqttOptions:
    host: Required
    topic: Required
    #: Default 8883 with `tls`, else 1883.
    port: Annotated[int, Field(strict=True, ge=1, le=65535)] = 1883
    qos: Annotated[int, Field(strict=True, ge=0, le=2)] = 1
    username: Text = ""
    password: SecretStr = SecretStr("")
    tls: Flag = False
    ca_file: Text = ""
    #: "5" (MQTT 5, the EventId also travels as a user property) or "3.1.1".
    protocol: Literal["5", "3.1.1"] = "5"
    client_id: Text = ""
    retain: Flag = False

    @model_validator(mode="before")
    @classmethod
    def _tls_port(cls, data: Any) -> Any:
        if isinstance(data, dict) and "port" not in data and data.get("tls") is True:
            return {**data, "port": 8883}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if "+" in self.topic or "#" in self.topic:
            raise ValueError("'topic' must not contain the wildcards + or #")
        if self.password.get_secret_value() and not self.username:
            raise ValueError("'password' needs a 'username'")
        return self


def _no_trailing_slash(value: str) -> str:
    return value.rstrip("/")


@dataclass(frozen=True, config=_SECTION)
class MnsOptions:
    endpoint: Annotated[Required, _url("http", "https"), AfterValidator(_no_trailing_slash)]
    access_key_id: Required
    access_key_secret: RequiredSecret
    topic: Text = ""
    queue: Text = ""
    message_tag: Text = ""
    #: Queue only: base64-encode the body (the SDK's default for queues); off by default so
    #: consumers read the JSON as published.
    base64: Flag = False

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if bool(self.topic) == bool(self.queue):
            raise ValueError(
                "give exactly one of 'topic' (PublishMessage) or 'queue' (SendMessage)"
            )
        if self.message_tag and self.queue:
            raise ValueError("'message_tag' applies to a topic, not a queue")
        return self


@dataclass(frozen=True, config=_SECTION)
class RocketMqOptions:
    endpoints: Required
    topic: Required
    access_key: Text = ""
    secret_key: SecretStr = SecretStr("")
    namespace: Text = ""
    tag: Text = ""
    tls: Flag = False

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        if bool(self.access_key) != bool(self.secret_key.get_secret_value()):
            raise ValueError("give both 'access_key' and 'secret_key', or neither")
        return self


Options = RedisStreamOptions | AmqpOptions | MqttOptions | MnsOptions | RocketMqOptions

WRAPS = ("raw", "mns-json")

MODELS: dict[str, type[Options]] = {
    "redis_stream": RedisStreamOptions,
    "amqp": AmqpOptions,
    "mqtt": MqttOptions,
    "mns": MnsOptions,
    "rocketmq": RocketMqOptions,
}


def parse_options(kind: str, name: str, item: Mapping[str, Any]) -> Options:
    """The options of a destination of type `kind` (not `webhook`); ValueError naming it."""
    return parse_section(MODELS[kind], name, item)


def parse_wrap(name: str, item: Mapping[str, Any]) -> str:
    wrap = item.get("wrap", "raw")
    if wrap not in WRAPS:
        raise ValueError(f"{name}: 'wrap' must be one of {', '.join(WRAPS)} (got {wrap!r})")
    return str(wrap)


def wrap_topic_default(route_key: str) -> str:
    """The TopicName an MNS-style wrapper shows by default: the topic named by the route key."""
    if route_key == "*":
        return "imm-engine"
    topic = route_key.split(":", 1)[1] if ":" in route_key else route_key
    return topic.rsplit("/", 1)[-1]
