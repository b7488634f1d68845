"""MNS (Simple Message Queue) delivery through the official SDK (`aliyun-mns-sdk`).

A topic destination calls PublishMessage (with `message_tag` when set); a queue destination
calls SendMessage, with the body as published unless `base64` is set. The EventId, TaskId
and attempt go as message user properties (`EventId`, `TaskId`, `Attempt`), and the
envelope's `id` carries the EventId in any case. One SDK account (one keep-alive HTTP
connection) per destination; the SDK is not thread-safe, so sends to one destination are
serialised.
"""

from __future__ import annotations

from typing import Any

from mns.account import Account
from mns.message_property import MessagePropertyValue, PropertyType
from mns.mns_exception import MNSClientParameterException, MNSExceptionBase, MNSServerException
from mns.queue import Message
from mns.topic import TopicMessage

from imm_engine.notify.options import MnsOptions
from imm_engine.notify.routes import Destination
from imm_engine.notify.senders.base import ConnectedSender, Delivery, Rejected

#: MNS error codes that retrying with the same request and credentials cannot fix. A missing
#: topic or queue is retried: it may be created while the event waits.
PERMANENT_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidArgument",
    "MessageBodyTooLarge",
    "InvalidParameter",
}


def _properties(event_id: str, task_id: str, attempt: int) -> dict[str, MessagePropertyValue]:
    return {
        "EventId": MessagePropertyValue(PropertyType.STRING, event_id),
        "TaskId": MessagePropertyValue(PropertyType.STRING, task_id),
        "Attempt": MessagePropertyValue(PropertyType.NUMBER, str(attempt)),
    }


class MnsSender(ConnectedSender[Any]):
    """The connection is an SDK `Account` (it holds the keep-alive HTTP connection)."""

    failures = (MNSExceptionBase, OSError)

    def connect(self, dest: Destination) -> Any:
        opts = dest.options
        assert isinstance(opts, MnsOptions)
        account = Account(
            opts.endpoint, opts.access_key_id, opts.access_key_secret.get_secret_value()
        )
        http = account.mns_client.http
        http.set_connection_timeout(dest.timeout_s)  # http: rebuilds the connection with it
        http.conn.timeout = dest.timeout_s  # https: the SDK sets none
        return account

    def publish(self, conn: Any, dest: Destination, delivery: Delivery) -> None:
        opts = dest.options
        assert isinstance(opts, MnsOptions)
        text = delivery.body.decode("utf-8")
        properties = _properties(delivery.event_id, delivery.task_id, delivery.attempt)
        if opts.topic:
            topic_message = TopicMessage(text, opts.message_tag)
            topic_message.set_user_properties(properties)
            reply = conn.get_topic(opts.topic).publish_message(topic_message)
        else:
            queue = conn.get_queue(opts.queue)
            queue.set_encoding(opts.base64)
            queue_message = Message(text)
            queue_message.set_user_properties(properties)
            reply = queue.send_message(queue_message)
        if not reply.message_id:
            raise Rejected("MNS answered without a MessageId")

    def is_permanent(self, exc: Exception) -> bool:
        if isinstance(exc, MNSServerException):
            return exc.type in PERMANENT_CODES
        return isinstance(exc, MNSClientParameterException)

    def describe(self, exc: Exception) -> str:
        if isinstance(exc, MNSServerException):
            return f"{exc.type}: {exc.message} (RequestId {exc.req_id})"
        return f"{getattr(exc, 'type', type(exc).__name__)}: {getattr(exc, 'message', exc)}"
