"""RocketMQ 5.x delivery through the official gRPC client (`rocketmq-python-client`).

Optional: install with `pip install 'imm-engine[rocketmq]'`. The client speaks the RocketMQ
5 proxy protocol (gRPC, port 8081 by default; Alibaba Cloud RocketMQ 5.x instances); it
cannot reach a 4.x-only broker. Each message has the EventId as its key and the properties
`event_id`, `task_id`, `attempt`. One started producer per destination, rebuilt after a
failure. No RocketMQ server runs in this project's test environment: its test is opt-in
(tests/integration/test_senders_rocketmq.py, ROCKETMQ_TEST_ENDPOINTS).
"""

from __future__ import annotations

import importlib.util
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from imm_engine.notify.options import RocketMqOptions
from imm_engine.notify.routes import Destination
from imm_engine.notify.senders.base import elapsed_ms, failure
from imm_engine.notify.senders.links import Links
from imm_engine.notify.webhook import Outcome


def available() -> bool:
    return importlib.util.find_spec("rocketmq") is not None


@dataclass
class _Link:
    lock: threading.Lock = field(default_factory=threading.Lock)
    producer: Any = None


def _producer(dest: Destination, opts: RocketMqOptions) -> Any:
    from rocketmq import ClientConfiguration, Credentials, Producer

    config = ClientConfiguration(
        opts.endpoints,
        Credentials(opts.access_key, opts.secret_key.get_secret_value()),
        namespace=opts.namespace,
        request_timeout=dest.timeout_s,
    )
    producer = Producer(config, (opts.topic,), tls_enable=opts.tls)
    producer.startup()
    return producer


class RocketMqSender:
    def __init__(self) -> None:
        self._links = Links(_Link)

    def send(
        self, dest: Destination, body: bytes, event_id: str, task_id: str, attempt: int
    ) -> Outcome:
        opts = dest.options
        assert isinstance(opts, RocketMqOptions)
        started = time.monotonic()
        if not available():
            return Outcome(
                False,
                error="rocketmq-python-client is not installed: pip install 'imm-engine[rocketmq]'",
                permanent=True,
            )
        from rocketmq import Message

        link = self._links.get(dest.name)
        with link.lock:
            try:
                if link.producer is None:
                    link.producer = _producer(dest, opts)
                message = Message()
                message.topic = opts.topic
                message.body = body
                if opts.tag:
                    message.tag = opts.tag
                message.keys = event_id
                message.add_property("event_id", event_id)
                message.add_property("task_id", task_id)
                message.add_property("attempt", str(attempt))
                link.producer.send(message)
            except Exception as exc:  # the client raises its own and gRPC's errors
                producer, link.producer = link.producer, None
                if producer is not None:
                    try:
                        producer.shutdown()
                    except Exception as closing:
                        exc.add_note(f"shutdown: {closing}")
                return failure(exc, started)
        return Outcome(True, elapsed_ms=elapsed_ms(started))

    def close(self) -> None:
        for link in self._links.all():
            with link.lock:
                if link.producer is not None:
                    link.producer.shutdown()
                    link.producer = None
