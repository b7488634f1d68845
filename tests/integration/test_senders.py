"""Every broker destination through the real dispatcher and the real local services.

Redis Streams (127.0.0.1:6379), RabbitMQ (5672) and Mosquitto (1883) are the real servers;
MNS is tests/support/fakes/mns_server.py driven by the official SDK (it checks signatures; see its
docstring for what it cannot prove). A TcpProxy in front of a service stands for a broker
that is down (connections refused) and then back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from imm_engine.state.keys import Keys
from tests.support.broker_clients import (
    AmqpBackend,
    Backend,
    MnsBackend,
    MqttBackend,
    RedisBackend,
    listening,
)
from tests.support.dispatching import delivery_log, dispatching, enqueue, wait_states
from tests.support.fakes.tcp_proxy import TcpProxy
from tests.support.needs import need

pytestmark = pytest.mark.redis

BACKENDS: dict[str, Callable[[], Backend]] = {
    "redis_stream": RedisBackend,
    "amqp": AmqpBackend,
    "mqtt": MqttBackend,
    "mns": MnsBackend,
}
SERVICE = {"redis_stream": "Redis", "amqp": "RabbitMQ", "mqtt": "Mosquitto"}


@pytest.fixture(params=list(BACKENDS))
def backend(request: pytest.FixtureRequest, redis_url: str) -> Iterator[Backend]:
    b = BACKENDS[request.param]()
    if request.param in SERVICE:
        need(listening(b.service_port), f"{SERVICE[request.param]} on 127.0.0.1:{b.service_port}")
    b.subscribe()
    yield b
    b.close()


def check_delivery_id(backend: Backend, meta: dict[str, Any], event_id: str, task_id: str) -> None:
    """The EventId travels outside the body too, where the transport has a place for it."""
    if backend.name == "redis_stream":
        assert meta["event_id"] == event_id and meta["task_id"] == task_id
    elif backend.name == "amqp":
        assert meta["message_id"] == event_id
        assert meta["headers"]["x-imm-event-id"] == event_id
        assert meta["headers"]["x-imm-task-id"] == task_id
        assert meta["delivery_mode"] == 2 and meta["content_type"] == "application/json"
        assert meta["routing_key"] == "imm.task.done"
    elif backend.name == "mqtt":
        assert meta["user_properties"]["event_id"] == event_id
        assert meta["user_properties"]["task_id"] == task_id
        assert meta["qos"] == 1
    elif backend.name == "mns":
        assert meta["user_properties"]["EventId"] == event_id
        assert meta["user_properties"]["TaskId"] == task_id


def test_envelope_arrives_once(redis_url: str, keys: Keys, backend: Backend) -> None:
    with dispatching(redis_url, keys, backend.destination(backend.service_port)):
        task_id, event_id, body = enqueue(redis_url, keys)
        assert wait_states(redis_url, keys, task_id, "Delivered") == ["Delivered"]
        [got] = backend.wait(1)
        time.sleep(0.5)  # time for a duplicate, if one were sent
    assert len(backend.wait(1, timeout=0)) == 1
    assert got.body == body  # the envelope as queued, byte for byte
    message = got.message
    assert message["id"] == event_id
    assert message["type"] == "imm:Task:OfficeConversion"
    assert message["source"] == "acs.imm"
    content = json.loads(message["content"])
    assert content["TaskId"] == task_id and content["Status"] == "Succeeded"
    assert content["UserData"] == "ud-42" and content["Tags"] == {"team": "docs"}
    check_delivery_id(backend, got.meta, event_id, task_id)


def test_wrap_sends_the_mns_json_subscription_format(
    redis_url: str, keys: Keys, backend: Backend
) -> None:
    destination = {**backend.destination(backend.service_port), "wrap": "mns-json"}
    with dispatching(redis_url, keys, destination):
        task_id, event_id, body = enqueue(redis_url, keys)
        [got] = backend.wait(1)
    wrapped = got.message
    assert wrapped["TopicName"] == "imm-topic"
    assert wrapped["TopicOwner"] == wrapped["Subscriber"] == "1234"
    assert wrapped["SubscriptionName"] == "imm-engine"
    assert len(wrapped["MessageId"]) == 32
    assert wrapped["Message"] == body.decode()  # IMM's envelope, as a string
    assert json.loads(wrapped["Message"])["id"] == event_id
    assert wrapped["PublishTime"] == json.loads(body)["time"]
    check_delivery_id(backend, got.meta, event_id, task_id)


def test_destination_down_at_first_gets_the_event_after_a_retry(
    redis_url: str, keys: Keys, backend: Backend
) -> None:
    proxy = TcpProxy(backend.service_port)  # not listening yet: connections are refused
    try:
        with dispatching(redis_url, keys, backend.destination(proxy.port)):
            task_id, event_id, _ = enqueue(redis_url, keys)
            deadline = time.monotonic() + 20
            while len(delivery_log(redis_url, keys, task_id)) < 2:
                assert time.monotonic() < deadline, "no failed attempts were logged"
                time.sleep(0.05)
            assert backend.wait(1, timeout=0) == []
            proxy.up()
            states = wait_states(redis_url, keys, task_id, "Delivered")
            [got] = backend.wait(1)
    finally:
        proxy.down()
    assert states[-1] == "Delivered" and set(states[:-1]) == {"Failed"}, states
    entries = delivery_log(redis_url, keys, task_id)
    assert [e["Attempt"] for e in entries] == list(range(1, len(entries) + 1))
    assert all(e["EventId"] == event_id for e in entries)
    assert entries[0]["Error"]
    assert got.message["id"] == event_id


def test_a_dropped_connection_is_replaced(redis_url: str, keys: Keys, backend: Backend) -> None:
    proxy = TcpProxy(backend.service_port).up()
    try:
        with dispatching(redis_url, keys, backend.destination(proxy.port)):
            first, _, _ = enqueue(redis_url, keys)
            assert wait_states(redis_url, keys, first, "Delivered")[-1] == "Delivered"
            proxy.down()  # cuts the kept connection
            proxy.up()
            second, event_id, _ = enqueue(redis_url, keys)
            assert wait_states(redis_url, keys, second, "Delivered")[-1] == "Delivered"
            got = backend.wait(2)
    finally:
        proxy.down()
    assert [r.message["id"] for r in got][-1] == event_id
