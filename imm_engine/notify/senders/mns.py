"""MNS (Simple Message Queue) delivery through the official SDK (`aliyun-mns-sdk`).

A topic destination calls PublishMessage (with `message_tag` when set); a queue destination
calls SendMessage, with the body as published unless `base64` is set. The EventId, TaskId
and attempt go as message user properties (`EventId`, `TaskId`, `Attempt`), and the
envelope's `id` carries the EventId in any case. One SDK account (one keep-alive HTTP
connection) per destination; the SDK is not thread-safe, so sends to one destination are
serialised.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from mns.account import Account
from mns.message_property import MessagePropertyValue, PropertyType
from mns.mns_exception import MNSClientParameterException, MNSExceptionBase, MNSServerException
from mns.queue import Message
from mns.topic import TopicMessage

from imm_engine.notify.options import MnsOptions
from imm_engine.notify.routes import Destination
from imm_engine.notify.senders.base import elapsed_ms
from imm_engine.notify.senders.links import Links
from imm_engine.notify.webhook import Outcome

#: MNS error codes that retrying with the same request and credentials cannot fix. A missing
#: topic or queue is retried: it may be created while the event waits.
PERMANENT_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidArgument",
    "MessageBodyTooLarge",
    "InvalidParameter",
}


@dataclass
class _Link:
    lock: threading.Lock = field(default_factory=threading.Lock)
    account: Any = None


def _account(dest: Destination, opts: MnsOptions) -> Any:
    account = Account(opts.endpoint, opts.access_key_id, opts.access_key_secret.get_secret_value())
    http = account.mns_client.http
    http.set_connection_timeout(dest.timeout_s)  # http: rebuilds the connection with it
    http.conn.timeout = dest.timeout_s  # https: the SDK sets none
    return account


def _properties(event_id: str, task_id: str, attempt: int) -> dict[str, MessagePropertyValue]:
    return {
        "EventId": MessagePropertyValue(PropertyType.STRING, event_id),
        "TaskId": MessagePropertyValue(PropertyType.STRING, task_id),
        "Attempt": MessagePropertyValue(PropertyType.NUMBER, str(attempt)),
    }


class MnsSender:
    def __init__(self) -> None:
        self._links = Links(_Link)

    def send(
        self, dest: Destination, body: bytes, event_id: str, task_id: str, attempt: int
    ) -> Outcome:
        opts = dest.options
        assert isinstance(opts, MnsOptions)
        started = time.monotonic()
        text = body.decode("utf-8")
        link = self._links.get(dest.name)
        with link.lock:
            try:
                if link.account is None:
                    link.account = _account(dest, opts)
                properties = _properties(event_id, task_id, attempt)
                if opts.topic:
                    topic_message = TopicMessage(text, opts.message_tag)
                    topic_message.set_user_properties(properties)
                    reply = link.account.get_topic(opts.topic).publish_message(topic_message)
                else:
                    queue = link.account.get_queue(opts.queue)
                    queue.set_encoding(opts.base64)
                    queue_message = Message(text)
                    queue_message.set_user_properties(properties)
                    reply = queue.send_message(queue_message)
            except MNSServerException as exc:
                link.account = None
                return Outcome(
                    False,
                    error=f"{exc.type}: {exc.message} (RequestId {exc.req_id})"[:300],
                    permanent=exc.type in PERMANENT_CODES,
                    elapsed_ms=elapsed_ms(started),
                )
            except MNSClientParameterException as exc:
                link.account = None
                return Outcome(
                    False,
                    error=f"{exc.type}: {exc.message}"[:300],
                    permanent=True,
                    elapsed_ms=elapsed_ms(started),
                )
            except (MNSExceptionBase, OSError) as exc:
                link.account = None
                error = (
                    f"{getattr(exc, 'type', type(exc).__name__)}: {getattr(exc, 'message', exc)}"
                )
                return Outcome(False, error=error[:300], elapsed_ms=elapsed_ms(started))
        if not reply.message_id:
            return Outcome(
                False, error="MNS answered without a MessageId", elapsed_ms=elapsed_ms(started)
            )
        return Outcome(True, elapsed_ms=elapsed_ms(started))

    def close(self) -> None:
        self._links.clear()
