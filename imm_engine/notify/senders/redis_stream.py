"""Redis Streams delivery: XADD the message to a stream, one entry per event.

Entry fields: `event_id` (the EventId, for deduplication), `task_id`, `attempt`, `message`
(IMM's envelope, or its MNS JSON wrapper). One client (with its connection pool) per
destination, shared by concurrent sends (redis-py's client is thread-safe and reconnects by
itself, so it is kept after a failure).
"""

from __future__ import annotations

import threading

import redis
from redis.typing import EncodableT, FieldT

from imm_engine.notify.options import RedisStreamOptions
from imm_engine.notify.routes import Destination
from imm_engine.notify.senders.base import BaseSender, Delivery
from imm_engine.state import connection

#: Replies that retrying with the same configuration cannot fix.
PERMANENT_REPLIES = ("WRONGTYPE", "NOPERM", "NOAUTH", "WRONGPASS")


class RedisStreamSender(BaseSender):
    failures = (redis.RedisError,)

    def __init__(self) -> None:
        self._clients: dict[str, redis.Redis] = {}
        self._lock = threading.Lock()

    def _client(self, dest: Destination, opts: RedisStreamOptions) -> redis.Redis:
        with self._lock:
            client = self._clients.get(dest.name)
            if client is None:
                client = connection.connect(
                    opts.url,
                    socket_timeout=dest.timeout_s,
                    socket_connect_timeout=dest.timeout_s,
                )
                self._clients[dest.name] = client
            return client

    def deliver(self, dest: Destination, delivery: Delivery) -> None:
        opts = dest.options
        assert isinstance(opts, RedisStreamOptions)
        fields: dict[FieldT, EncodableT] = {
            "event_id": delivery.event_id,
            "task_id": delivery.task_id,
            "attempt": str(delivery.attempt),
            "message": delivery.body,
        }
        self._client(dest, opts).xadd(
            opts.stream, fields, maxlen=opts.maxlen or None, approximate=True
        )

    def is_permanent(self, exc: Exception) -> bool:
        if isinstance(exc, redis.ResponseError):
            return str(exc).startswith(PERMANENT_REPLIES)
        return isinstance(exc, redis.AuthenticationError)

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
