"""(g) The built-in MNS through the MNS SDK (`aliyun-mns-sdk`), against `imm-engine api`
alone (MNS served on the API port):

* SendMessage, ReceiveMessage and DeleteMessage: requests per second and p50/p99 latency from
  several client threads, each with its own SDK `Account` (the SDK is not thread-safe);
* publish -> a long-polling consumer holding the message: a consumer waits in
  `receive_message(wait_seconds=30)` on a queue subscribed (JSON) to a topic; the bench
  publishes (`publish_message`) and measures from just before the publish call to the moment
  `receive_message` returns the message, one message at a time.

The clients share the machine's CPUs with the server, so throughput figures are a floor.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import BenchError
from bench.service import ACCESS_KEY_ID, ACCESS_KEY_SECRET, running
from bench.util import Rate, median, ms, percentile, progress


@dataclass
class Handoff:
    """Publish -> long-polling consumer holding the message."""

    samples_s: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages": len(self.samples_s),
            "ms_median": ms(median(self.samples_s)),
            "ms_p99": ms(percentile(self.samples_s, 99)),
            "ms_max": ms(max(self.samples_s) if self.samples_s else None),
        }


def _account(port: int) -> Any:
    from mns.account import Account

    return Account(f"http://127.0.0.1:{port}/", ACCESS_KEY_ID, ACCESS_KEY_SECRET)


def _run(rate: Rate, calls: list[Any], duration: float, limit: int = 0) -> None:
    """Call each of `calls` (one per thread) in a loop for `duration` seconds (or, with
    `limit`, until it returns False)."""
    lock = threading.Lock()
    stop_at = time.perf_counter() + duration

    def loop(call: Any) -> None:
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            try:
                more = call()
            except Exception as exc:  # counted and reported
                with lock:
                    rate.errors.append(repr(exc)[:300])
                continue
            with lock:
                rate.latencies_s.append(time.perf_counter() - t0)
            if more is False:
                return

    threads = [threading.Thread(target=loop, args=(c,)) for c in calls]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rate.seconds = time.perf_counter() - started


def measure_rates(port: int, threads: int, duration: float) -> list[Rate]:
    from mns.mns_exception import MNSServerException
    from mns.queue import Message, QueueMeta

    name = f"bench-{uuid.uuid4().hex[:8]}"
    meta = QueueMeta()
    meta.set_visibilitytimeout(300)
    _account(port).get_queue(name).create(meta)
    queues = [_account(port).get_queue(name) for _ in range(threads)]
    body = json.dumps({"events": [{"eventName": "FormatConvertJob:JobFinished", "pad": "x" * 400}]})
    send, receive, delete = (
        Rate(op, threads, kind="operation")
        for op in ("SendMessage", "ReceiveMessage", "DeleteMessage")
    )

    def sender(q: Any) -> Any:
        return lambda: q.send_message(Message(body))

    _run(send, [sender(q) for q in queues], duration)
    handles: list[list[str]] = [[] for _ in queues]

    def receiver(q: Any, mine: list[str]) -> Any:
        def once() -> bool:
            try:
                mine.append(q.receive_message(0).receipt_handle)
            except MNSServerException as exc:
                if exc.type == "MessageNotExist":
                    return False
                raise
            return True

        return once

    _run(receive, [receiver(q, h) for q, h in zip(queues, handles, strict=True)], duration)

    def deleter(q: Any, mine: list[str]) -> Any:
        def once() -> bool:
            if not mine:
                return False
            q.delete_message(mine.pop())
            return True

        return once

    _run(delete, [deleter(q, h) for q, h in zip(queues, handles, strict=True)], duration)
    _account(port).get_queue(name).delete()
    return [send, receive, delete]


def measure_handoff(port: int, messages: int) -> Handoff:
    from mns.queue import QueueMeta
    from mns.subscription import SubscriptionMeta
    from mns.topic import TopicMessage, TopicMeta

    name = f"bench-{uuid.uuid4().hex[:8]}"
    consumer_account, producer_account = _account(port), _account(port)
    queue = consumer_account.get_queue(name)
    queue.create(QueueMeta())
    queue.set_encoding(False)
    topic = producer_account.get_topic(name)
    topic.create(TopicMeta())
    topic.get_subscription("bench").subscribe(
        SubscriptionMeta(f"acs:mns:local:0:queues/{name}", notify_content_format="JSON")
    )
    result = Handoff()
    for i in range(messages):
        got: list[tuple[float, Any]] = []

        def consume(into: list[tuple[float, Any]] = got) -> None:
            message = queue.receive_message(30)
            into.append((time.perf_counter(), message))

        waiting = threading.Thread(target=consume)
        waiting.start()
        time.sleep(0.2)  # the consumer is in its long poll
        sent_at = time.perf_counter()
        topic.publish_message(TopicMessage(json.dumps({"n": i})))
        waiting.join(35)
        if not got:
            raise BenchError(f"(g) the long-polling consumer did not get message {i}")
        at, message = got[0]
        if json.loads(json.loads(message.message_body)["Message"]) != {"n": i}:
            raise BenchError(f"(g) unexpected message {message.message_body[:200]!r}")
        result.samples_s.append(at - sent_at)
        queue.delete_message(message.receipt_handle)
    topic.delete()
    queue.delete()
    return result


def measure(
    workdir: Path, log: Path, threads: int, duration: float, messages: int
) -> dict[str, Any]:
    with running(workdir / "mns", log, "mns", command="api") as service:
        rates = measure_rates(service.port, threads, duration)
        for r in rates:
            d = r.to_dict()
            progress(
                f"[mns] {r.name}: {d['req_per_s']} req/s, p50 {d['latency_ms_median']} ms, "
                f"{len(r.errors)} errors"
            )
        handoff = measure_handoff(service.port, messages)
        progress(f"[mns] publish -> consumer: p50 {handoff.to_dict()['ms_median']} ms")
    return {"rates": [r.to_dict() for r in rates], "handoff": handoff.to_dict()}
