"""What every action is given: the stores, the queue, the submission context and the caller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from imm_engine.api.params import Params
from imm_engine.state.projects import ProjectRecords
from imm_engine.state.store import TaskRecords, TaskStore
from imm_engine.storage.key_grants import NOBODY, Caller
from imm_engine.tasktypes import SubmitContext


class Queue(Protocol):
    """Where accepted tasks go (imm_engine/broker.py `TaskQueue`)."""

    def submit(self, task_type: str, task_id: str, queue: str) -> None: ...


@dataclass(frozen=True)
class Services:
    store: TaskRecords
    queue: Queue
    submit: SubmitContext
    projects: ProjectRecords
    #: The AccessKey of the request being answered and its grant (set per request).
    caller: Caller = NOBODY
    #: Longest wait of the 2017 synchronous ConvertOfficeFormat (IMM_LEGACY_CONVERT_WAIT).
    legacy_convert_wait_s: float = 8.0
    #: GetTask shows `WrittenPages` (IMM_EARLY_PAGES; imm_engine/api/early_pages.py).
    early_pages: bool = False
    #: Replicas a new task must reach before its TaskId is answered (0: no WAIT).
    durable_replicas: int = 0
    wait_timeout_ms: int = 1000

    def for_caller(self, caller: Caller) -> Services:
        return replace(self, caller=caller)


Handler = Callable[[Services, Params, str], dict[str, Any]]


def redis_store(services: Services) -> TaskStore:
    """The Redis store, for the imm-engine extensions kept in Redis beside the records (completion
    events to replay, split pages written, 2017 idempotency keys). The server always has it;
    the in-memory store of the API's unit tests has none of these."""
    store = services.store
    if not isinstance(store, TaskStore):
        raise TypeError(f"{type(store).__name__} keeps only task records")
    return store
