"""Dispatch: which operation a request is, by resource and method (receiving excepted: it may
wait, imm_engine/mns/longpoll.py). Synchronous; the HTTP layer runs it in a thread."""

from __future__ import annotations

from collections.abc import Callable

from imm_engine.mns.call import Call, Reply, resource
from imm_engine.mns.errors import MnsError
from imm_engine.mns.queue_ops import QueueOperations
from imm_engine.mns.queues import QueueStore
from imm_engine.mns.topic_ops import TopicOperations
from imm_engine.mns.topics import TopicStore

#: MNS's name of each (resource, method), for logs and metrics.
NAMES = {
    ("queues", "GET"): "ListQueue",
    ("queue", "PUT"): "CreateQueue",
    ("queue", "GET"): "GetQueueAttributes",
    ("queue", "DELETE"): "DeleteQueue",
    ("queue/messages", "POST"): "SendMessage",
    ("queue/messages", "DELETE"): "DeleteMessage",
    ("queue/messages", "PUT"): "ChangeMessageVisibility",
    ("queue/messages", "GET"): "ReceiveMessage",
    ("topics", "GET"): "ListTopic",
    ("topic", "PUT"): "CreateTopic",
    ("topic", "GET"): "GetTopicAttributes",
    ("topic", "DELETE"): "DeleteTopic",
    ("topic/messages", "POST"): "PublishMessage",
    ("topic/subscriptions", "GET"): "ListSubscriptionByTopic",
    ("topic/subscription", "PUT"): "Subscribe",
    ("topic/subscription", "GET"): "GetSubscriptionAttributes",
    ("topic/subscription", "DELETE"): "Unsubscribe",
}


def operation_name(call: Call) -> str:
    """`MNS.<operation>` (batches and peeks under their single form), or `MNS.other`."""
    return "MNS." + NAMES.get((resource(call), call.method), "other")


class Operations:
    def __init__(self, queues: QueueStore, topics: TopicStore, owner: str) -> None:
        q, t = QueueOperations(queues), TopicOperations(topics, owner)
        self.table: dict[tuple[str, str], Callable[[Call], Reply]] = {
            ("queues", "GET"): q.list_queues,
            ("queue", "PUT"): q.put_queue,
            ("queue", "GET"): q.get_queue,
            ("queue", "DELETE"): q.delete_queue,
            ("queue/messages", "POST"): q.send,
            ("queue/messages", "DELETE"): q.delete_messages,
            ("queue/messages", "PUT"): q.change_visibility,
            ("queue/messages", "GET"): q.peek,
            ("topics", "GET"): t.list_topics,
            ("topic", "PUT"): t.put_topic,
            ("topic", "GET"): t.get_topic,
            ("topic", "DELETE"): t.delete_topic,
            ("topic/messages", "POST"): t.publish,
            ("topic/subscriptions", "GET"): t.list_subscriptions,
            ("topic/subscription", "PUT"): t.put_subscription,
            ("topic/subscription", "GET"): t.get_subscription,
            ("topic/subscription", "DELETE"): t.unsubscribe,
        }

    def handle(self, call: Call) -> Reply:
        kind = resource(call)
        handler = self.table.get((kind, call.method))
        if handler is not None:
            return handler(call)
        if any(k == kind for k, _ in self.table):
            raise MnsError("MethodNotAllowed", f"{call.method[:16]} is not allowed here.", 405)
        raise MnsError("ResourceNotExist", "The resource you requested does not exist.", 404)
