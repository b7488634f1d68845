"""Test-side consumers of the real local brokers (Redis Streams, RabbitMQ, Mosquitto).

Each `Backend` names a unique stream / exchange / topic, builds a destination configuration
pointing at a given port (the real service, or a TcpProxy in front of it), subscribes before
anything is published, collects what arrives, and removes what it created.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import amqp
import paho.mqtt.client as mqtt
import redis
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.fakes.mns_server import MnsServer

REDIS_PORT, AMQP_PORT, MQTT_PORT = 6379, 5672, 1883


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class Received:
    """One message as a consumer saw it: the body and the delivery id metadata."""

    body: bytes
    meta: dict[str, Any]

    @property
    def message(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Backend:
    name: str
    service_port: int
    unique: str = field(default_factory=lambda: f"immtest-{uuid.uuid4().hex[:10]}")
    received: list[Received] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def destination(self, port: int) -> dict[str, Any]:
        raise NotImplementedError

    def subscribe(self) -> None:
        """Start collecting (before anything is published)."""

    def close(self) -> None:
        """Stop collecting and delete what the test created."""

    def add(self, body: bytes, meta: dict[str, Any]) -> None:
        with self.cond:
            self.received.append(Received(body, meta))
            self.cond.notify_all()

    def wait(self, count: int, timeout: float = 20.0) -> list[Received]:
        with self.cond:
            self.cond.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)


class RedisBackend(Backend):
    def __init__(self) -> None:
        super().__init__("redis_stream", REDIS_PORT)
        self.client = redis.Redis(port=REDIS_PORT, db=10)

    def destination(self, port: int) -> dict[str, Any]:
        return {
            "type": "redis_stream",
            "url": f"redis://127.0.0.1:{port}/10",
            "stream": self.unique,
        }

    def wait(self, count: int, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            entries = self.client.xrange(self.unique)
            if len(entries) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        return [
            Received(
                fields[b"message"],
                {k.decode(): v.decode() for k, v in fields.items() if k != b"message"},
            )
            for _id, fields in entries
        ]

    def close(self) -> None:
        self.client.delete(self.unique)
        self.client.close()


class AmqpBackend(Backend):
    def __init__(self) -> None:
        super().__init__("amqp", AMQP_PORT)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def destination(self, port: int) -> dict[str, Any]:
        return {
            "type": "amqp",
            "url": f"amqp://guest:guest@127.0.0.1:{port}/",
            "exchange": self.unique,
            "routing_key": "imm.task.done",
        }

    def subscribe(self) -> None:
        self._thread = threading.Thread(target=self._consume, daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "the AMQP consumer did not start"

    def _consume(self) -> None:
        with amqp.Connection(host=f"127.0.0.1:{AMQP_PORT}") as conn:
            conn.connect()
            ch = conn.channel()
            # Declared with the settings the sender declares it with (durable topic exchange).
            ch.exchange_declare(self.unique, "topic", durable=True, auto_delete=False)
            ch.queue_declare(self.unique, durable=False, exclusive=True, auto_delete=True)
            ch.queue_bind(self.unique, self.unique, "imm.#")

            def on_message(msg: amqp.Message) -> None:
                props = msg.properties
                meta = {
                    "message_id": props.get("message_id"),
                    "delivery_mode": props.get("delivery_mode"),
                    "content_type": props.get("content_type"),
                    "headers": dict(props.get("application_headers") or {}),
                    "routing_key": msg.delivery_info["routing_key"],
                }
                body = msg.body  # py-amqp decodes a body that has a content_encoding
                self.add(body if isinstance(body, bytes) else body.encode(), meta)
                ch.basic_ack(msg.delivery_tag)

            ch.basic_consume(self.unique, callback=on_message)
            self._ready.set()
            while not self._stop.is_set():
                with contextlib.suppress(socket.timeout, TimeoutError):
                    conn.drain_events(timeout=0.2)
            ch.exchange_delete(self.unique)

    def close(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)


class MqttBackend(Backend):
    def __init__(self) -> None:
        super().__init__("mqtt", MQTT_PORT)
        self.topic = f"imm-test/{self.unique}"
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)

    def destination(self, port: int) -> dict[str, Any]:
        return {"type": "mqtt", "host": "127.0.0.1", "port": port, "topic": self.topic}

    def subscribe(self) -> None:
        subscribed = threading.Event()

        def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
            props = getattr(msg.properties, "UserProperty", None) or []
            self.add(msg.payload, {"qos": msg.qos, "user_properties": dict(props)})

        def on_subscribe(*_args: Any) -> None:
            subscribed.set()

        self.client.on_message = on_message
        self.client.on_subscribe = on_subscribe
        self.client.connect("127.0.0.1", MQTT_PORT)
        self.client.loop_start()
        self.client.subscribe(self.topic, qos=1)
        assert subscribed.wait(10), "the MQTT subscription was not acknowledged"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class MnsBackend(Backend):
    def __init__(self) -> None:
        super().__init__("mns", 0)
        self.server = MnsServer(topics={"imm-topic"}, queues={"imm-queue"}).start()
        self.service_port = self.server.port

    def destination(self, port: int) -> dict[str, Any]:
        return {
            "type": "mns",
            "endpoint": f"http://127.0.0.1:{port}",
            "topic": "imm-topic",
            "access_key_id": self.server.access_key_id,
            "access_key_secret": self.server.access_key_secret,
        }

    def wait(self, count: int, timeout: float = 20.0) -> list[Received]:
        return [
            Received(
                m.body.encode(),
                {"user_properties": {k: v for k, (_t, v) in m.user_properties.items()}},
            )
            for m in self.server.wait_for(count, timeout)
        ]

    def close(self) -> None:
        self.server.stop()
