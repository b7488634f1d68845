"""ReceiveMessage / BatchReceiveMessage with long polling, without busy-waiting.

Each try is one atomic Lua step (imm_engine/mns/scripts.py RECEIVE). When it finds nothing
it empties the queue's wake-up list in the same step; every message made visible afterwards
pushes a token onto it. The receiver then blocks on that list (BLPOP on an asyncio Redis
connection, so the event loop stays free) until a token comes, the next delayed or inflight
message is due, or the wait ends (at most MAX_BLOCK_S at a time); then tries again. An empty
queue after the wait answers 404 MessageNotExist, as MNS does.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable

import redis.asyncio
from starlette.concurrency import run_in_threadpool

from imm_engine.mns import attributes as attrs
from imm_engine.mns.call import Call, Reply, batch_size
from imm_engine.mns.documents import message_document, messages_document
from imm_engine.mns.errors import QueueNotExist, message_not_exist
from imm_engine.mns.queues import QueueStore

#: Never block longer than this in one BLPOP: a lost wake-up, a client that left or a
#: shutdown costs at most this much.
MAX_BLOCK_S = 1.0
#: Set when the process is shutting down (imm_engine/service/cli.py): waiting long polls answer
#: MessageNotExist at their next wake-up instead of holding the exit for up to 30 s.
STOPPING = threading.Event()


async def receive(
    call: Call,
    queues: QueueStore,
    waiter: redis.asyncio.Redis,
    gone: Callable[[], Awaitable[bool]],
) -> Reply:
    name = call.parts[0]
    count = batch_size(call)
    wait = await run_in_threadpool(_wait_seconds, call, queues, name)
    deadline = time.monotonic() + wait
    signal = queues.keys.signal(name)
    while True:
        taken = await run_in_threadpool(queues.receive, name, count or 1)
        if taken.messages:
            if count is None:
                return Reply(200, message_document(taken.messages[0]))
            return Reply(200, messages_document(taken.messages))
        remaining = deadline - time.monotonic()
        if remaining <= 0 or STOPPING.is_set():
            raise message_not_exist()
        block = min(remaining, MAX_BLOCK_S)
        if taken.next_due_ms >= 0:
            due_in = taken.next_due_ms / 1000 - time.time()
            block = min(block, max(due_in, 0.01))
        token = await waiter.blpop([signal], timeout=max(block, 0.01))
        if STOPPING.is_set() or await gone():  # leave the message (and the wake-up) to others
            if token is not None:
                await waiter.lpush(signal, "1")
            raise message_not_exist()
        await asyncio.sleep(0)


def _wait_seconds(call: Call, queues: QueueStore, name: str) -> float:
    raw = call.param("waitseconds")
    low, high = attrs.QUEUE_RANGES["PollingWaitSeconds"][1:]
    if raw is not None and raw.strip():
        return float(attrs.integer("waitseconds", raw, low, high))
    polling = queues.client.hget(queues.keys.queue(name), "PollingWaitSeconds")
    if polling is None:
        raise QueueNotExist(name)
    return float(int(polling))
