"""AMQP 0-9-1 delivery (RabbitMQ): publish to an exchange with publisher confirms.

Each message carries `message_id` = EventId and the headers `x-imm-event-id`,
`x-imm-task-id`, `x-imm-delivery-attempt`. With `confirm` (default) a delivery counts only
once the broker acknowledged it; with `mandatory` (default) a message no queue receives is
returned by the broker and retried. One connection per destination, kept open and rebuilt
after any failure (a failed channel may hold stale confirms).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import amqp
import amqp.exceptions

from imm_engine.notify.options import AmqpOptions
from imm_engine.notify.routes import Destination
from imm_engine.notify.senders.base import ConnectedSender, Delivery


@dataclass(frozen=True)
class Session:
    """A connection and the channel publishing on it."""

    connection: Any
    channel: Any


def connection_args(opts: AmqpOptions, timeout: float) -> dict[str, Any]:
    """py-amqp Connection arguments for an amqp:// or amqps:// URL (pure)."""
    parts = urlsplit(opts.url)
    secure = parts.scheme == "amqps"
    host = parts.hostname or "localhost"
    vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
    args: dict[str, Any] = {
        "host": f"{host}:{parts.port or (5671 if secure else 5672)}",
        "userid": unquote(parts.username or "guest"),
        "password": unquote(parts.password or "guest"),
        "virtual_host": vhost,
        "connect_timeout": timeout,
        "read_timeout": timeout,
        "write_timeout": timeout,
        "confirm_publish": opts.confirm,
    }
    if secure:
        # py-amqp: a default (system CA, hostname-checking) context, with SNI.
        args["ssl"] = {"context": {"check_hostname": True}, "server_hostname": host}
    return args


class AmqpSender(ConnectedSender[Session]):
    #: Broker refusals that retrying with the same configuration cannot fix: bad credentials
    #: or permissions, or an exchange declared with other settings than ours.
    permanent = (amqp.exceptions.AccessRefused, amqp.exceptions.PreconditionFailed)
    stale = (OSError, amqp.exceptions.ConnectionError)

    def connect(self, dest: Destination) -> Session:
        opts = dest.options
        assert isinstance(opts, AmqpOptions)
        connection = amqp.Connection(**connection_args(opts, dest.timeout_s))
        try:
            connection.connect()
            channel = connection.channel()
            if opts.declare and opts.exchange:
                channel.exchange_declare(
                    opts.exchange, opts.exchange_type, durable=opts.durable, auto_delete=False
                )
        except Exception:
            self.disconnect(Session(connection, None))
            raise
        return Session(connection, channel)

    def publish(self, conn: Session, dest: Destination, delivery: Delivery) -> None:
        opts = dest.options
        assert isinstance(opts, AmqpOptions)
        message = amqp.Message(
            delivery.body,
            content_type="application/json",
            content_encoding="utf-8",
            message_id=delivery.event_id,
            delivery_mode=2 if opts.persistent else 1,
            timestamp=int(time.time()),
            app_id="imm-engine",
            application_headers={
                "x-imm-event-id": delivery.event_id,
                "x-imm-task-id": delivery.task_id,
                "x-imm-delivery-attempt": delivery.attempt,
            },
        )
        kwargs: dict[str, Any] = {"exchange": opts.exchange, "routing_key": opts.routing_key}
        if opts.confirm:
            # A returned (unroutable) message arrives before the confirm and raises here.
            kwargs |= {"mandatory": opts.mandatory, "confirm_timeout": dest.timeout_s}
        conn.channel.basic_publish(message, **kwargs)

    def disconnect(self, conn: Session) -> None:
        with contextlib.suppress(Exception):  # closing a broken connection must not raise
            conn.connection.collect()  # drops the socket without a handshake that could block
