"""The queue and message operations (except receiving, imm_engine/mns/longpoll.py): one
method per REST resource and method, request in, answer out. Synchronous (Redis calls)."""

from __future__ import annotations

from dataclasses import dataclass

from imm_engine.mns import attributes as attrs
from imm_engine.mns import wire
from imm_engine.mns.call import Call, Reply, batch_size, list_options, now_s
from imm_engine.mns.documents import (
    message_document,
    messages_document,
    outgoing,
    send_error,
    sent_document,
)
from imm_engine.mns.errors import MnsError, QueueNotExist, invalid, malformed_xml
from imm_engine.mns.notification import body_md5
from imm_engine.mns.queues import QueueStore


@dataclass
class QueueOperations:
    queues: QueueStore

    def put_queue(self, call: Call) -> Reply:
        name = attrs.check_name("queue", call.parts[0])
        root = call.xml() if call.body.strip() else None
        given = attrs.given_attributes(root, attrs.QUEUE_RANGES)
        if call.param("metaoverride") == "true":
            self.queues.set_attributes(name, given, now_s())
            return Reply(204)
        created = self.queues.create(name, attrs.with_defaults(given, attrs.QUEUE_RANGES), now_s())
        location = f"{call.base_url}/queues/{name}"
        return Reply(201 if created else 204, headers={"location": location})

    def get_queue(self, call: Call) -> Reply:
        name = call.parts[0]
        found = self.queues.attributes(name)
        order = [
            "ActiveMessages", "CreateTime", "DelayMessages", "DelaySeconds", "InactiveMessages",
            "LastModifyTime", "MaximumMessageSize", "MessageRetentionPeriod", "QueueName",
            "VisibilityTimeout", "PollingWaitSeconds", "LoggingEnabled",
        ]  # fmt: skip
        return Reply(200, wire.document("Queue", [(k, found.get(k, "")) for k in order]))

    def delete_queue(self, call: Call) -> Reply:
        self.queues.delete(call.parts[0])
        return Reply(204)

    def list_queues(self, call: Call) -> Reply:
        prefix, marker, limit, with_meta = list_options(call)
        names, next_marker = self.queues.names(prefix, marker, limit)
        items: list[tuple[str, object]] = []
        for name in names:
            fields: list[tuple[str, object]] = [("QueueURL", f"{call.base_url}/queues/{name}")]
            if with_meta:
                try:
                    found = self.queues.attributes(name)
                except QueueNotExist:
                    continue
                fields += [(k, v) for k, v in sorted(found.items()) if v]
            items.append(("Queue", fields))
        if next_marker:
            items.append(("NextMarker", next_marker))
        return Reply(200, wire.document("Queues", items))

    # --- messages ---

    def send(self, call: Call) -> Reply:
        name = call.parts[0]
        root = call.xml()
        if root.tag == "Message":
            message = outgoing(root)
            [result] = self.queues.send(name, [message])
            if result.startswith("!"):
                raise send_error(result[1:], name)
            return Reply(201, sent_document("Message", result, message))
        if root.tag != "Messages":
            raise malformed_xml("the root element must be Message or Messages")
        messages = [outgoing(m) for m in root.findall("Message")]
        if not 1 <= len(messages) <= attrs.MAX_BATCH:
            raise invalid(f"A batch holds 1 to {attrs.MAX_BATCH} messages.")
        results = self.queues.send(name, messages)
        if all(r == "!QueueNotExist" for r in results):
            raise QueueNotExist(name)
        failed = any(r.startswith("!") for r in results)
        items: list[tuple[str, object]] = []
        for result, message in zip(results, messages, strict=True):
            if result.startswith("!"):
                err = send_error(result[1:], name)
                items.append(("Message", [("ErrorCode", err.code), ("ErrorMessage", err.message)]))
            else:
                items.append(
                    ("Message", [("MessageId", result), ("MessageBodyMD5", body_md5(message.body))])
                )
        return Reply(500 if failed else 201, wire.document("Messages", items))

    def peek(self, call: Call) -> Reply:
        if call.param("peekonly") != "true":  # receiving is routed to longpoll first
            raise MnsError("ResourceNotExist", "The resource you requested does not exist.", 404)
        count = batch_size(call)
        taken = self.queues.peek(call.parts[0], count or 1)
        if not taken.messages:
            raise MnsError("MessageNotExist", "Message not exist.", 404)
        if count is None:
            return Reply(200, message_document(taken.messages[0], received=False))
        return Reply(200, messages_document(taken.messages, received=False))

    def delete_messages(self, call: Call) -> Reply:
        name = call.parts[0]
        handle = call.param("ReceiptHandle")
        if handle is not None:
            if not handle:
                raise MnsError("MissingReceiptHandle", "The ReceiptHandle is mandatory.", 400)
            self.queues.delete_message(name, handle)
            return Reply(204)
        root = call.xml()
        if root.tag != "ReceiptHandles":
            raise MnsError("MissingReceiptHandle", "The ReceiptHandle is mandatory.", 400)
        handles = [h.text.strip() for h in root.findall("ReceiptHandle")]
        if not 1 <= len(handles) <= attrs.MAX_BATCH:
            raise invalid(f"A batch holds 1 to {attrs.MAX_BATCH} receipt handles.")
        errors: list[tuple[str, object]] = []
        for handle in handles:
            try:
                self.queues.delete_message(name, handle)
            except QueueNotExist:
                raise
            except MnsError as err:
                errors.append(
                    (
                        "Error",
                        [("ErrorCode", err.code), ("ErrorMessage", err.message),
                         ("ReceiptHandle", handle)],
                    )
                )  # fmt: skip
        if errors:
            return Reply(404, wire.document("Errors", errors))
        return Reply(204)

    def change_visibility(self, call: Call) -> Reply:
        handle = call.param("ReceiptHandle")
        if not handle:
            raise MnsError("MissingReceiptHandle", "The ReceiptHandle is mandatory.", 400)
        timeout = call.param("VisibilityTimeout")
        if timeout is None or not timeout.strip():
            raise MnsError("MissingVisibilityTimeout", "The VisibilityTimeout is mandatory.", 400)
        low, high = attrs.QUEUE_RANGES["VisibilityTimeout"][1:]
        seconds = attrs.integer("VisibilityTimeout", timeout, low, high)
        new_handle, next_ms = self.queues.change_visibility(call.parts[0], handle, seconds)
        return Reply(
            200,
            wire.document(
                "ChangeVisibility", [("ReceiptHandle", new_handle), ("NextVisibleTime", next_ms)]
            ),
        )
