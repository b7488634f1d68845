"""How each broker destination classifies failures: retried, or given up on at once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import amqp
import pytest

from imm_engine.notify.routes import parse_routes
from imm_engine.notify.senders.amqp import AmqpSender
from imm_engine.notify.senders.mns import MnsSender
from imm_engine.state.keys import Keys
from tests.support.broker_clients import AMQP_PORT, listening
from tests.support.dispatching import delivery_log, dispatching, enqueue, wait_states
from tests.support.fakes.mns_server import MnsServer
from tests.support.needs import need

pytestmark = pytest.mark.redis


@pytest.fixture()
def mns() -> Iterator[MnsServer]:
    server = MnsServer(queues={"imm-queue"}).start()
    yield server
    server.stop()


def mns_destination(server: MnsServer, **extra: object) -> dict[str, object]:
    return {
        "type": "mns",
        "endpoint": server.endpoint,
        "topic": "imm-topic",
        "access_key_id": server.access_key_id,
        "access_key_secret": server.access_key_secret,
        **extra,
    }


def test_mns_wrong_secret_is_refused_and_not_retried(
    redis_url: str, keys: Keys, mns: MnsServer
) -> None:
    mns.topics.add("imm-topic")
    with dispatching(redis_url, keys, mns_destination(mns, access_key_secret="wrong")):
        task_id, _, _ = enqueue(redis_url, keys)
        states = wait_states(redis_url, keys, task_id, "GaveUp")
    assert states == ["GaveUp"]
    assert "SignatureDoesNotMatch" in delivery_log(redis_url, keys, task_id)[0]["Error"]
    assert mns.messages == [] and mns.rejected == ["SignatureDoesNotMatch"]


def test_mns_topic_created_later_gets_the_event(redis_url: str, keys: Keys, mns: MnsServer) -> None:
    with dispatching(redis_url, keys, mns_destination(mns)):
        task_id, event_id, _ = enqueue(redis_url, keys)
        deadline = time.monotonic() + 20
        while not delivery_log(redis_url, keys, task_id):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        mns.topics.add("imm-topic")
        states = wait_states(redis_url, keys, task_id, "Delivered")
    assert states[0] == "Failed" and states[-1] == "Delivered"
    assert "TopicNotExist" in delivery_log(redis_url, keys, task_id)[0]["Error"]
    [message] = mns.messages
    assert message.user_properties["EventId"] == ("STRING", event_id)


def test_mns_queue_gets_the_json_unencoded(mns: MnsServer) -> None:
    dest_config = mns_destination(mns, topic="", queue="imm-queue", wrap="mns-json")
    (dest,) = parse_routes({"mns:imm-topic": dest_config}, {}).by_key["mns:imm-topic"]
    from imm_engine.notify.senders import Wrapping

    outcome = Wrapping(MnsSender()).send(dest, b'{"id":"E1","time":"1"}', "E1", "T1", 1)
    assert outcome.ok, outcome
    [message] = mns.messages
    assert message.kind == "queue" and message.name == "imm-queue"
    assert message.body.startswith('{"TopicOwner"')  # JSON, not base64
    assert message.user_properties["Attempt"] == ("NUMBER", "1")


@pytest.fixture()
def rabbit() -> Iterator[amqp.Channel]:
    need(listening(AMQP_PORT), f"RabbitMQ on 127.0.0.1:{AMQP_PORT}")
    with amqp.Connection(host=f"127.0.0.1:{AMQP_PORT}") as conn:
        conn.connect()
        yield conn.channel()


def test_amqp_unroutable_message_is_retried_until_a_queue_is_bound(
    rabbit: amqp.Channel,
) -> None:
    name = f"immtest-{time.time_ns()}"
    (dest,) = parse_routes(
        {"t": {"type": "amqp", "url": "amqp://127.0.0.1/", "exchange": name, "routing_key": "k"}},
        {},
    ).by_key["t"]
    sender = AmqpSender()
    try:
        first = sender.send(dest, b"{}", "E1", "T1", 1)  # the exchange exists, no queue bound
        assert not first.ok and not first.permanent
        assert "NO_ROUTE" in first.error or "312" in first.error, first.error
        rabbit.queue_declare(name, exclusive=True, auto_delete=True)
        rabbit.queue_bind(name, name, "k")
        second = sender.send(dest, b"{}", "E1", "T1", 2)
        assert second.ok, second
        msg = rabbit.basic_get(name, no_ack=True)
        assert msg is not None and msg.properties["message_id"] == "E1"
    finally:
        sender.close()
        rabbit.exchange_delete(name)


def test_amqp_exchange_declared_differently_is_a_permanent_failure(
    rabbit: amqp.Channel,
) -> None:
    name = f"immtest-{time.time_ns()}"
    rabbit.exchange_declare(name, "fanout", durable=False, auto_delete=False)
    (dest,) = parse_routes(
        {"t": {"type": "amqp", "url": "amqp://127.0.0.1/", "exchange": name}}, {}
    ).by_key["t"]
    sender = AmqpSender()
    try:
        outcome = sender.send(dest, b"{}", "E1", "T1", 1)
        assert not outcome.ok and outcome.permanent
        assert "PRECONDITION_FAILED" in outcome.error or "inequivalent" in outcome.error
    finally:
        sender.close()
        rabbit.exchange_delete(name)


def test_amqp_wrong_password_is_permanent() -> None:
    need(listening(AMQP_PORT), f"RabbitMQ on 127.0.0.1:{AMQP_PORT}")
    (dest,) = parse_routes(
        {"t": {"type": "amqp", "url": "amqp://guest:wrong@127.0.0.1/", "exchange": "x"}}, {}
    ).by_key["t"]
    outcome = AmqpSender().send(dest, b"{}", "E1", "T1", 1)
    assert not outcome.ok and outcome.permanent, outcome
