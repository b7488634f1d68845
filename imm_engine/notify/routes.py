"""Which destinations a task's `Notification` reaches (pure).

IMM's `Notification` names only an MNS topic and/or a RocketMQ topic, so the server maps
topic names to real destinations in its configuration (`IMM_NOTIFY_TOPICS` or the file named
by `IMM_NOTIFY_CONFIG`), a JSON object of route key -> destination (or list of them):

    {"imm-topic": {"type": "webhook", "url": "https://example.com/imm", "secret": "s3cret"},
     "rocketmq:MQ_INST_1/done": [{"type": "webhook", "url": "..."}],
     "*": {"type": "webhook", "url": "..."}}

Route keys: `mns:<TopicName>`, `rocketmq:<InstanceId>/<TopicName>`, `rocketmq:<TopicName>`,
a bare `<TopicName>` (matches either kind), and `*` (every task, like IMM's EventBridge).

Destination types: `webhook` (url, secret, headers, ...) and the brokers `redis_stream`,
`amqp`, `mqtt`, `mns`, `rocketmq`, whose settings live in `Destination.options`
(imm_engine/notify/options.py). Every type takes `timeout` and `wrap` ("raw" or "mns-json").

A topic of this server's own MNS-compatible service (imm_engine/mns) needs no route: a task
whose MNS topic no route claims, and which exists as a built-in topic at submission, carries
`BuiltinMNS: <topic>` in its notification and is delivered to the destination
`builtin-mns:<topic>` (type `builtin_mns`), with the same retries, log and replay.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr
from pydantic.dataclasses import dataclass

from imm_engine.config.env_refs import resolve_env_refs
from imm_engine.notify.options import Options, parse_options, parse_wrap, wrap_topic_default

DESTINATION_TYPES = ("webhook", "redis_stream", "amqp", "mqtt", "mns", "rocketmq")
#: Notification key naming the built-in MNS topic a task publishes to (set at submission).
BUILTIN_KEY = "BuiltinMNS"
BUILTIN_PREFIX = "builtin-mns:"
BUILTIN_TYPE = "builtin_mns"
CATCH_ALL = "*"


@dataclass(frozen=True)
class Destination:
    """One place an event is delivered to. `name` is unique within the configuration."""

    name: str
    type: str
    url: str
    #: The webhook's signing key (X-Imm-Signature); empty: unsigned.
    secret: SecretStr = SecretStr("")
    timeout_s: float = 5.0
    headers: tuple[tuple[str, str], ...] = ()
    allow_private: bool = False
    #: "raw" sends IMM's envelope as is; "mns-json" wraps it as an MNS JSON subscription does.
    wrap: str = "raw"
    #: TopicName / SubscriptionName shown in the "mns-json" wrapper.
    wrap_topic: str = ""
    wrap_subscription: str = ""
    #: Settings of the non-webhook types; None for a webhook (whose fields are above).
    options: Options | None = None


@dataclasses.dataclass(frozen=True)
class Routes:
    by_key: Mapping[str, tuple[Destination, ...]] = dataclasses.field(default_factory=dict)

    def keys_for(self, notification: Mapping[str, Any]) -> list[str]:
        """The route keys a `Notification` object asks for, most specific first."""
        keys: list[str] = []
        mns = notification.get("MNS")
        if notification.get(BUILTIN_KEY):
            mns = None  # delivered to the built-in topic, not through a route
        if isinstance(mns, Mapping) and mns.get("TopicName"):
            topic = str(mns["TopicName"])
            keys.append(self._first(f"mns:{topic}", topic) or f"mns:{topic}")
        rmq = notification.get("RocketMQ")
        if isinstance(rmq, Mapping) and rmq.get("TopicName"):
            topic, instance = str(rmq["TopicName"]), str(rmq.get("InstanceId") or "")
            candidates = [f"rocketmq:{instance}/{topic}"] if instance else []
            candidates += [f"rocketmq:{topic}", topic]
            keys.append(self._first(*candidates) or candidates[0])
        return keys

    def unknown(self, notification: Mapping[str, Any]) -> list[str]:
        """Route keys requested by `notification` that the configuration does not map."""
        return [k for k in self.keys_for(notification) if k not in self.by_key]

    def destinations(self, notification: Mapping[str, Any] | None) -> list[Destination]:
        """Every destination an event of a task with this `Notification` goes to, once each."""
        keys = [*self.keys_for(notification or {}), CATCH_ALL]
        seen: dict[str, Destination] = {}
        builtin = (notification or {}).get(BUILTIN_KEY)
        if isinstance(builtin, str) and builtin:
            dest = builtin_destination(builtin)
            seen[dest.name] = dest
        for key in keys:
            for dest in self.by_key.get(key, ()):
                seen.setdefault(dest.name, dest)
        return list(seen.values())

    def catch_all_only(self, notification: Mapping[str, Any] | None) -> set[str]:
        """Names of the destinations an event reaches only through the `*` route (they get
        the 2020 envelope whatever API version created the task)."""
        asked = {
            d.name for key in self.keys_for(notification or {}) for d in self.by_key.get(key, ())
        }
        return {d.name for d in self.by_key.get(CATCH_ALL, ()) if d.name not in asked}

    def find(self, name: str) -> Destination | None:
        """The destination a queued delivery names: configured, or a built-in MNS topic."""
        for dests in self.by_key.values():
            for dest in dests:
                if dest.name == name:
                    return dest
        if name.startswith(BUILTIN_PREFIX) and len(name) > len(BUILTIN_PREFIX):
            return builtin_destination(name[len(BUILTIN_PREFIX) :])
        return None

    def _first(self, *candidates: str) -> str | None:
        return next((c for c in candidates if c in self.by_key), None)


def builtin_destination(topic: str) -> Destination:
    """Delivery to a topic of this server's built-in MNS service."""
    return Destination(name=f"{BUILTIN_PREFIX}{topic}", type=BUILTIN_TYPE, url="")


def parse_routes(config: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Routes:
    """Validate a route table; raise ValueError naming the bad entry. `environ` (default
    os.environ) resolves `<option>_env` indirections (imm_engine/config/env_refs.py)."""
    env = os.environ if environ is None else environ
    by_key: dict[str, tuple[Destination, ...]] = {}
    for key, value in config.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"route key {key!r} must be a non-empty string")
        items = value if isinstance(value, list) else [value]
        if not items:
            raise ValueError(f"{key}: an empty list delivers nowhere; remove the route instead")
        dests = []
        for i, item in enumerate(items):
            name = key if len(items) == 1 else f"{key}#{i + 1}"
            dests.append(_destination(name, item, key, env))
        by_key[key] = tuple(dests)
    return Routes(by_key)


def _destination(name: str, item: Any, key: str, environ: Mapping[str, str]) -> Destination:
    if not isinstance(item, Mapping):
        raise ValueError(f"{name}: a destination is a JSON object with a 'type'")
    try:
        item = resolve_env_refs(item, environ)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    kind = item.get("type", "webhook")
    if kind not in DESTINATION_TYPES:
        raise ValueError(f"{name}: type {kind!r} is not one of {', '.join(DESTINATION_TYPES)}")
    wrap = parse_wrap(name, item)
    wrap_topic = item.get("wrap_topic", wrap_topic_default(key))
    wrap_subscription = item.get("wrap_subscription", "imm-engine")
    if not isinstance(wrap_topic, str) or not isinstance(wrap_subscription, str):
        raise ValueError(f"{name}: 'wrap_topic' and 'wrap_subscription' must be strings")
    if wrap == "raw":
        wrap_topic = wrap_subscription = ""
    if kind != "webhook":
        return Destination(
            name=name,
            type=kind,
            url="",
            timeout_s=_timeout(name, item),
            wrap=wrap,
            wrap_topic=wrap_topic,
            wrap_subscription=wrap_subscription,
            options=parse_options(kind, name, item),
        )
    url = item.get("url")
    if not isinstance(url, str):
        raise ValueError(f"{name}: 'url' is required")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{name}: url {url!r} must be an http:// or https:// URL with a host")
    headers = item.get("headers", {})
    if not isinstance(headers, Mapping):
        raise ValueError(f"{name}: 'headers' must be an object of name -> value")
    secret = item.get("secret", "")
    if not isinstance(secret, str):
        raise ValueError(f"{name}: 'secret' must be a string")
    allow_private = item.get("allow_private", False)
    if not isinstance(allow_private, bool):  # bool("false") would be True
        raise ValueError(f"{name}: 'allow_private' must be true or false")
    return Destination(
        name=name,
        type=kind,
        url=url,
        secret=SecretStr(secret),
        timeout_s=_timeout(name, item),
        headers=tuple((str(k), str(v)) for k, v in headers.items()),
        allow_private=allow_private,
        wrap=wrap,
        wrap_topic=wrap_topic,
        wrap_subscription=wrap_subscription,
    )


def _timeout(name: str, item: Mapping[str, Any]) -> float:
    timeout = item.get("timeout", 5.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 120:
        raise ValueError(f"{name}: 'timeout' must be a number of seconds in (0, 120]")
    return float(timeout)
