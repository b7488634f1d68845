"""MQTT delivery (e.g. Mosquitto): publish with QoS 1 and wait for the broker's PUBACK.

With MQTT 5 (default) the EventId, TaskId and attempt also travel as user properties
(`event_id`, `task_id`, `attempt`); with 3.1.1 they are only in the body (the envelope's `id`).
One connection per destination with its network thread, replaced after any failure.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from imm_engine.notify.options import MqttOptions
from imm_engine.notify.routes import Destination
from imm_engine.notify.senders.base import ConnectedSender, Delivery, Rejected

#: CONNACK reason codes (MQTT 5 numbering; paho maps 3.1.1's codes onto them) that retrying
#: with the same settings cannot fix.
PERMANENT_CONNACK = {
    0x84,  # unsupported protocol version
    0x85,  # client identifier not valid
    0x86,  # bad user name or password
    0x87,  # not authorized
    0x8C,  # bad authentication method
}

_ids = itertools.count(1)


def _connect(dest: Destination, opts: MqttOptions) -> mqtt.Client:
    v5 = opts.protocol == "5"
    client_id = opts.client_id or f"imm-engine-{socket.gethostname()}-{os.getpid()}-{next(_ids)}"
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
    )
    client.reconnect_delay_set(1, 30)
    if opts.username:
        client.username_pw_set(opts.username, opts.password.get_secret_value() or None)
    if opts.tls:
        client.tls_set(ca_certs=opts.ca_file or None)
    connected = threading.Event()
    result: list[ReasonCode] = []

    def on_connect(_c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object) -> None:
        result.append(reason)
        connected.set()

    client.on_connect = on_connect
    try:
        client.connect(opts.host, opts.port, keepalive=60)
    except (OSError, ValueError) as exc:
        raise Rejected(f"{type(exc).__name__}: {exc}") from exc
    client.loop_start()
    if not connected.wait(dest.timeout_s):
        _stop(client)
        raise Rejected(f"no CONNACK from {opts.host}:{opts.port} in {dest.timeout_s}s")
    reason = result[0]
    if reason.is_failure:
        _stop(client)
        raise Rejected(f"connection refused: {reason}", permanent=reason.value in PERMANENT_CONNACK)
    return client


def _stop(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()


class MqttSender(ConnectedSender[mqtt.Client]):
    """Failures are `Rejected` only: a refused connection, or a publish not acknowledged."""

    failures = ()

    def connect(self, dest: Destination) -> mqtt.Client:
        opts = dest.options
        assert isinstance(opts, MqttOptions)
        return _connect(dest, opts)

    def usable(self, conn: mqtt.Client) -> bool:
        return conn.is_connected()

    def disconnect(self, conn: mqtt.Client) -> None:
        _stop(conn)

    def publish(self, conn: mqtt.Client, dest: Destination, delivery: Delivery) -> None:
        """Publish and wait for the acknowledgement."""
        opts = dest.options
        assert isinstance(opts, MqttOptions)
        properties = None
        if opts.protocol == "5":
            properties = Properties(PacketTypes.PUBLISH)
            properties.ContentType = "application/json"
            properties.UserProperty = [
                ("event_id", delivery.event_id),
                ("task_id", delivery.task_id),
                ("attempt", str(delivery.attempt)),
            ]
        info = conn.publish(
            opts.topic, delivery.body, qos=opts.qos, retain=opts.retain, properties=properties
        )
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise Rejected(f"publish failed: {mqtt.error_string(info.rc)}")
        try:
            info.wait_for_publish(dest.timeout_s)
        except (RuntimeError, ValueError) as exc:
            raise Rejected(f"publish failed: {exc}") from exc
        if not info.is_published():
            raise Rejected(f"no acknowledgement from the broker in {dest.timeout_s}s")
