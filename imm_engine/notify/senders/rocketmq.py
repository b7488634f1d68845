"""RocketMQ 5.x delivery through the official gRPC client (`rocketmq-python-client`).

Optional: install with `pip install 'imm-engine[rocketmq]'` (a `rocketmq` route without it
stops the notifier at start, naming the extra). The client speaks the RocketMQ 5 proxy
protocol (gRPC, port 8081 by default; Alibaba Cloud RocketMQ 5.x instances); it cannot reach
a 4.x-only broker. Each message has the EventId as its key and the properties `event_id`,
`task_id`, `attempt`. One started producer per destination, rebuilt after a failure. No
RocketMQ server runs in this project's test environment: its test is opt-in
(tests/integration/test_senders_optin.py, ROCKETMQ_TEST_ENDPOINTS). This module imports the
client only when it connects, so it loads without it.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from imm_engine.notify.options import RocketMqOptions
from imm_engine.notify.routes import Destination
from imm_engine.notify.senders.base import ConnectedSender, Delivery


def available() -> bool:
    return importlib.util.find_spec("rocketmq") is not None


class RocketMqSender(ConnectedSender[Any]):
    """The connection is a started `Producer`; the client raises its own and gRPC's errors,
    all of them failed attempts, retried."""

    def connect(self, dest: Destination) -> Any:
        from rocketmq import ClientConfiguration, Credentials, Producer

        opts = dest.options
        assert isinstance(opts, RocketMqOptions)
        config = ClientConfiguration(
            opts.endpoints,
            Credentials(opts.access_key, opts.secret_key.get_secret_value()),
            namespace=opts.namespace,
            request_timeout=dest.timeout_s,
        )
        producer = Producer(config, (opts.topic,), tls_enable=opts.tls)
        producer.startup()
        return producer

    def publish(self, conn: Any, dest: Destination, delivery: Delivery) -> None:
        from rocketmq import Message

        opts = dest.options
        assert isinstance(opts, RocketMqOptions)
        message = Message()
        message.topic = opts.topic
        message.body = delivery.body
        if opts.tag:
            message.tag = opts.tag
        message.keys = delivery.event_id
        message.add_property("event_id", delivery.event_id)
        message.add_property("task_id", delivery.task_id)
        message.add_property("attempt", str(delivery.attempt))
        conn.send(message)

    def disconnect(self, conn: Any) -> None:
        conn.shutdown()
