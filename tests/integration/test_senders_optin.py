"""Opt-in tests against real cloud brokers; they skip unless their variables are set.

No MNS or RocketMQ runs here, so these never run in CI. (tests/conftest.py removes IMM_*
variables, hence the other prefixes.)

Real MNS (Simple Message Queue), a queue used only by this test (it reads the queue back and
deletes what it reads):
    MNS_TEST_ENDPOINT=https://<account>.mns.<region>.aliyuncs.com
    MNS_TEST_ACCESS_KEY_ID=...  MNS_TEST_ACCESS_KEY_SECRET=...  MNS_TEST_QUEUE=<queue>
    MNS_TEST_TOPIC=<topic>      (optional: also publish to a topic)

RocketMQ 5.x (a proxy endpoint; `pip install 'imm-engine[rocketmq]'`):
    ROCKETMQ_TEST_ENDPOINTS=host:8081  ROCKETMQ_TEST_TOPIC=<topic>  ROCKETMQ_TEST_GROUP=<group>
    ROCKETMQ_TEST_ACCESS_KEY=...  ROCKETMQ_TEST_SECRET_KEY=...   (optional)
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

import pytest

from imm_engine.notify.routes import Destination, parse_routes
from imm_engine.notify.senders import Wrapping
from imm_engine.notify.senders.mns import MnsSender
from imm_engine.notify.senders.rocketmq import RocketMqSender, available


def env(*names: str) -> dict[str, str]:
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        pytest.skip(f"opt-in: set {', '.join(missing)} to run against the real service")
    return {n: os.environ[n] for n in names}


def destination(config: dict[str, Any]) -> Destination:
    (dest,) = parse_routes({"mns:imm-topic": {**config, "timeout": 10}}, {}).by_key["mns:imm-topic"]
    return dest


def body(event_id: str) -> bytes:
    return json.dumps({"id": event_id, "time": str(int(time.time() * 1000))}).encode()


def test_real_mns_queue_receives_the_message() -> None:
    v = env("MNS_TEST_ENDPOINT", "MNS_TEST_ACCESS_KEY_ID", "MNS_TEST_ACCESS_KEY_SECRET")
    queue = env("MNS_TEST_QUEUE")["MNS_TEST_QUEUE"]
    from mns.account import Account
    from mns.mns_exception import MNSServerException

    config = {
        "type": "mns",
        "endpoint": v["MNS_TEST_ENDPOINT"],
        "access_key_id": v["MNS_TEST_ACCESS_KEY_ID"],
        "access_key_secret": v["MNS_TEST_ACCESS_KEY_SECRET"],
    }
    event_id = f"EV-{uuid.uuid4().hex}"
    outcome = Wrapping(MnsSender()).send(
        destination({**config, "queue": queue}), body(event_id), event_id, "T1", 1
    )
    assert outcome.ok, outcome
    reader = Account(
        v["MNS_TEST_ENDPOINT"], v["MNS_TEST_ACCESS_KEY_ID"], v["MNS_TEST_ACCESS_KEY_SECRET"]
    ).get_queue(queue)
    reader.set_encoding(False)
    deadline = time.monotonic() + 30
    while True:
        assert time.monotonic() < deadline, "the message did not come back from the queue"
        try:
            msg = reader.receive_message(5)
        except MNSServerException as exc:
            if exc.type == "MessageNotExist":
                continue
            raise
        reader.delete_message(msg.receipt_handle)
        if json.loads(msg.message_body).get("id") == event_id:
            break
    topic = os.environ.get("MNS_TEST_TOPIC")
    if topic:
        outcome = MnsSender().send(
            destination({**config, "topic": topic}), body(event_id), event_id, "T1", 1
        )
        assert outcome.ok, outcome


def test_real_mns_refuses_a_wrong_secret_permanently() -> None:
    v = env("MNS_TEST_ENDPOINT", "MNS_TEST_ACCESS_KEY_ID", "MNS_TEST_QUEUE")
    dest = destination(
        {
            "type": "mns",
            "endpoint": v["MNS_TEST_ENDPOINT"],
            "access_key_id": v["MNS_TEST_ACCESS_KEY_ID"],
            "access_key_secret": "wrong-secret",
            "queue": v["MNS_TEST_QUEUE"],
        }
    )
    outcome = MnsSender().send(dest, body("E"), "E", "T1", 1)
    assert not outcome.ok and outcome.permanent, outcome


def rocketmq_destination(endpoints: str, topic: str) -> Destination:
    config: dict[str, Any] = {"type": "rocketmq", "endpoints": endpoints, "topic": topic}
    if os.environ.get("ROCKETMQ_TEST_ACCESS_KEY"):
        config["access_key"] = os.environ["ROCKETMQ_TEST_ACCESS_KEY"]
        config["secret_key"] = os.environ.get("ROCKETMQ_TEST_SECRET_KEY", "")
    return destination(config)


def test_rocketmq_without_a_server_is_a_transient_failure() -> None:
    """Runs wherever the optional client is installed: nothing listens on the port."""
    if not available():
        pytest.skip("opt-in: pip install 'imm-engine[rocketmq]'")
    from tests.support.service import free_port

    dest = rocketmq_destination(f"127.0.0.1:{free_port()}", "imm-events")
    outcome = RocketMqSender().send(dest, body("E"), "E", "T1", 1)
    assert not outcome.ok and not outcome.permanent and outcome.error


def test_real_rocketmq_topic_receives_the_message() -> None:
    v = env("ROCKETMQ_TEST_ENDPOINTS", "ROCKETMQ_TEST_TOPIC", "ROCKETMQ_TEST_GROUP")
    if not available():
        pytest.skip("opt-in: pip install 'imm-engine[rocketmq]'")
    from rocketmq import ClientConfiguration, Credentials, FilterExpression, SimpleConsumer

    dest = rocketmq_destination(v["ROCKETMQ_TEST_ENDPOINTS"], v["ROCKETMQ_TEST_TOPIC"])
    credentials = Credentials(
        os.environ.get("ROCKETMQ_TEST_ACCESS_KEY", ""),
        os.environ.get("ROCKETMQ_TEST_SECRET_KEY", ""),
    )
    consumer = SimpleConsumer(
        ClientConfiguration(v["ROCKETMQ_TEST_ENDPOINTS"], credentials),
        v["ROCKETMQ_TEST_GROUP"],
        {v["ROCKETMQ_TEST_TOPIC"]: FilterExpression()},
        await_duration=5,
    )
    consumer.startup()
    try:
        event_id = f"EV-{uuid.uuid4().hex}"
        outcome = RocketMqSender().send(dest, body(event_id), event_id, "T1", 1)
        assert outcome.ok, outcome
        deadline = time.monotonic() + 60
        found = None
        while found is None and time.monotonic() < deadline:
            for msg in consumer.receive(16, 30) or []:
                consumer.ack(msg)
                if msg.properties.get("event_id") == event_id:
                    found = msg
        assert found is not None, "the message did not come back from the topic"
        assert event_id in found.keys and json.loads(found.body)["id"] == event_id
    finally:
        consumer.shutdown()
