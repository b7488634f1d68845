"""Notification routes (imm_engine/notify/routes.py), spec sections 6.2 and 7."""

from __future__ import annotations

from typing import Any

import pytest

from imm_engine.notify.routes import Destination, Routes, parse_routes

HOOK = {"type": "webhook", "url": "https://example.com/imm"}

# --- parse_routes: accepted --------------------------------------------------------------


def test_parse_full_destination() -> None:
    routes = parse_routes(
        {
            "imm-topic": {
                "type": "webhook",
                "url": "https://example.com/imm",
                "secret": "s3cret",
                "timeout": 2.5,
                "headers": {"X-Env": "prod", "X-Num": 3},
                "allow_private": True,
            }
        }
    )
    assert routes.by_key["imm-topic"] == (
        Destination(
            name="imm-topic",
            type="webhook",
            url="https://example.com/imm",
            secret="s3cret",
            timeout_s=2.5,
            headers=(("X-Env", "prod"), ("X-Num", "3")),
            allow_private=True,
        ),
    )


def test_parse_defaults() -> None:
    (dest,) = parse_routes({"t": {"url": "http://example.com/"}}).by_key["t"]
    assert dest == Destination(name="t", type="webhook", url="http://example.com/")
    assert dest.timeout_s == 5.0
    assert dest.secret.get_secret_value() == ""
    assert dest.allow_private is False


def test_parse_list_names_each_destination() -> None:
    routes = parse_routes({"rocketmq:MQ_INST_1/done": [HOOK, HOOK]})
    names = [d.name for d in routes.by_key["rocketmq:MQ_INST_1/done"]]
    assert names == ["rocketmq:MQ_INST_1/done#1", "rocketmq:MQ_INST_1/done#2"]


def test_parse_one_element_list_is_named_by_key() -> None:
    assert parse_routes({"t": [HOOK]}).by_key["t"][0].name == "t"


def test_parse_empty_table() -> None:
    assert dict(parse_routes({}).by_key) == {}


# --- parse_routes: refused ---------------------------------------------------------------

REFUSED = [
    # (config, fragment of the ValueError)
    pytest.param({"": HOOK}, "route key '' must be a non-empty string", id="empty-key"),
    pytest.param({1: HOOK}, "route key 1 must be a non-empty string", id="non-string-key"),
    pytest.param({"t": "https://example.com"}, "t: a destination is a JSON object",
                 id="destination-is-a-string"),
    pytest.param({"t": [HOOK, 3]}, "t#2: a destination is a JSON object", id="bad-list-item"),
    pytest.param({"t": {"type": "sqs", "url": "https://x"}}, "t: type 'sqs' is not one of webhook",
                 id="unknown-type"),
    pytest.param({"t": {"type": "webhook"}}, "t: 'url' is required", id="no-url"),
    pytest.param({"t": {"url": 3}}, "t: 'url' is required", id="url-not-a-string"),
    pytest.param({"t": {"url": "ftp://example.com/x"}}, "must be an http:// or https:// URL",
                 id="ftp"),
    pytest.param({"t": {"url": "https://"}}, "must be an http:// or https:// URL", id="no-host"),
    pytest.param({"t": {"url": "example.com/x"}}, "must be an http:// or https:// URL",
                 id="no-scheme"),
    pytest.param({"t": {**HOOK, "headers": ["X-A: b"]}}, "'headers' must be an object",
                 id="headers-list"),
    pytest.param({"t": {**HOOK, "timeout": 0}}, "'timeout' must be a number of seconds in (0, 120]",
                 id="timeout-zero"),
    pytest.param({"t": {**HOOK, "timeout": 121}}, "'timeout' must be", id="timeout-too-big"),
    pytest.param({"t": {**HOOK, "timeout": "5"}}, "'timeout' must be", id="timeout-string"),
    pytest.param({"t": {**HOOK, "secret": 123}}, "t: 'secret' must be a string",
                 id="secret-not-string"),
    pytest.param({"t": {**HOOK, "allow_private": "false"}},
                 "t: 'allow_private' must be true or false", id="allow-private-string"),
    pytest.param({"t": {**HOOK, "allow_private": 1}}, "t: 'allow_private' must be true or false",
                 id="allow-private-number"),
]  # fmt: skip


@pytest.mark.parametrize(("config", "fragment"), REFUSED)
def test_parse_routes_refuses(config: dict[Any, Any], fragment: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_routes(config)
    assert fragment in str(err.value)


@pytest.mark.parametrize("value", [True, False])
def test_allow_private_booleans(value: bool) -> None:
    routes = parse_routes({"t": {**HOOK, "allow_private": value}})
    assert routes.by_key["t"][0].allow_private is value


def test_timeout_at_the_limit_is_accepted() -> None:
    assert parse_routes({"t": {**HOOK, "timeout": 120}}).by_key["t"][0].timeout_s == 120.0


# --- keys_for / unknown / destinations ---------------------------------------------------

ROUTES = parse_routes(
    {
        "mns:imm-topic": {**HOOK, "url": "https://mns.example.com/"},
        "rocketmq:MQ_INST_1/done": {**HOOK, "url": "https://rmq-inst.example.com/"},
        "rocketmq:done": {**HOOK, "url": "https://rmq.example.com/"},
        "shared": {**HOOK, "url": "https://shared.example.com/"},
        "*": {**HOOK, "url": "https://all.example.com/"},
    }
)

KEYS = [
    # (Notification, route keys, unknown keys)
    pytest.param({}, [], [], id="none"),
    pytest.param({"MNS": {"TopicName": "imm-topic"}}, ["mns:imm-topic"], [], id="mns-prefixed"),
    pytest.param({"MNS": {"TopicName": "shared"}}, ["shared"], [], id="mns-bare-topic"),
    pytest.param({"MNS": {"TopicName": "nope"}}, ["mns:nope"], ["mns:nope"], id="mns-unknown"),
    pytest.param({"MNS": {"TopicName": ""}}, [], [], id="mns-empty-topic"),
    pytest.param({"MNS": "imm-topic"}, [], [], id="mns-not-an-object"),
    pytest.param({"RocketMQ": {"InstanceId": "MQ_INST_1", "TopicName": "done"}},
                 ["rocketmq:MQ_INST_1/done"], [], id="rmq-with-instance"),
    pytest.param({"RocketMQ": {"InstanceId": "MQ_INST_2", "TopicName": "done"}},
                 ["rocketmq:done"], [], id="rmq-other-instance-falls-back-to-topic"),
    pytest.param({"RocketMQ": {"TopicName": "done"}}, ["rocketmq:done"], [], id="rmq-no-instance"),
    pytest.param({"RocketMQ": {"InstanceId": "I", "TopicName": "shared"}}, ["shared"], [],
                 id="rmq-bare-topic"),
    pytest.param({"RocketMQ": {"InstanceId": "I", "TopicName": "nope"}},
                 ["rocketmq:I/nope"], ["rocketmq:I/nope"], id="rmq-unknown-most-specific"),
    pytest.param({"RocketMQ": {"TopicName": "nope"}}, ["rocketmq:nope"], ["rocketmq:nope"],
                 id="rmq-unknown-no-instance"),
    pytest.param({"MNS": {"TopicName": "imm-topic"},
                  "RocketMQ": {"InstanceId": "MQ_INST_1", "TopicName": "done"}},
                 ["mns:imm-topic", "rocketmq:MQ_INST_1/done"], [], id="both"),
]  # fmt: skip


@pytest.mark.parametrize(("notification", "keys", "unknown"), KEYS)
def test_keys_for_and_unknown(
    notification: dict[str, Any], keys: list[str], unknown: list[str]
) -> None:
    assert ROUTES.keys_for(notification) == keys
    assert ROUTES.unknown(notification) == unknown


def test_star_does_not_make_a_topic_known() -> None:
    assert ROUTES.unknown({"MNS": {"TopicName": "nope"}}) == ["mns:nope"]


DESTINATIONS = [
    # (Notification, destination URLs in order)
    pytest.param(None, ["https://all.example.com/"], id="no-notification-only-star"),
    pytest.param({}, ["https://all.example.com/"], id="empty-notification-only-star"),
    pytest.param({"MNS": {"TopicName": "imm-topic"}},
                 ["https://mns.example.com/", "https://all.example.com/"], id="mns"),
    pytest.param({"MNS": {"TopicName": "nope"}}, ["https://all.example.com/"], id="unknown-mns"),
    pytest.param({"RocketMQ": {"InstanceId": "MQ_INST_1", "TopicName": "done"}},
                 ["https://rmq-inst.example.com/", "https://all.example.com/"],
                 id="rmq-instance-most-specific-only"),
    pytest.param({"MNS": {"TopicName": "shared"},
                  "RocketMQ": {"InstanceId": "I", "TopicName": "shared"}},
                 ["https://shared.example.com/", "https://all.example.com/"],
                 id="same-destination-once"),
]  # fmt: skip


@pytest.mark.parametrize(("notification", "urls"), DESTINATIONS)
def test_destinations(notification: dict[str, Any] | None, urls: list[str]) -> None:
    assert [d.url for d in ROUTES.destinations(notification)] == urls


def test_destinations_without_star() -> None:
    routes = parse_routes({"t": HOOK})
    assert routes.destinations({}) == []
    assert [d.name for d in routes.destinations({"MNS": {"TopicName": "t"}})] == ["t"]


def test_destinations_deduplicate_by_name() -> None:
    one = Destination(name="same", type="webhook", url="https://a.example.com/")
    two = Destination(name="same", type="webhook", url="https://b.example.com/")
    routes = Routes({"mns:t": (one,), "*": (two,)})
    assert routes.destinations({"MNS": {"TopicName": "t"}}) == [one]


def test_empty_routes() -> None:
    assert Routes().keys_for({"MNS": {"TopicName": "t"}}) == ["mns:t"]
    assert Routes().destinations({"MNS": {"TopicName": "t"}}) == []
