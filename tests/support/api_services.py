"""The API's actions called in-process on in-memory stores (tests/support/memory_state.py):
what the ASGI endpoint hands an action, without Redis, a broker or HTTP."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from imm_engine.api.actions import ACTIONS
from imm_engine.api.params import Params
from imm_engine.api.services import Services
from imm_engine.notify.routes import parse_routes
from imm_engine.storage.grants import Grants
from imm_engine.storage.key_grants import EVERYTHING, Caller
from imm_engine.tasktypes import SubmitContext
from tests.support.memory_state import MemoryProjects, MemoryTaskStore


@dataclass
class RecordingQueue:
    """A task queue that keeps what it was given; `down` makes it refuse like a lost broker."""

    submitted: list[tuple[str, str, str]] = field(default_factory=list)
    down: bool = False

    def submit(self, task_type: str, task_id: str, queue: str) -> None:
        if self.down:
            raise ConnectionError("the broker cannot be reached")
        self.submitted.append((task_type, task_id, queue))


@dataclass
class MemoryApi:
    """Services on in-memory stores, and calling actions by name as the endpoint does."""

    store: MemoryTaskStore = field(default_factory=MemoryTaskStore)
    projects: MemoryProjects = field(default_factory=MemoryProjects)
    queue: RecordingQueue = field(default_factory=RecordingQueue)
    topics: dict[str, Any] = field(default_factory=dict)
    grants: Grants = field(default_factory=Grants)
    #: The signing AccessKey and its grant: by default one that may use everything.
    caller: Caller = field(default_factory=lambda: Caller("test-ak", EVERYTHING))
    #: Replicas a new task must reach before its TaskId is answered (IMM_REDIS_WAIT_REPLICAS).
    durable_replicas: int = 0

    @property
    def services(self) -> Services:
        return Services(
            store=self.store,
            queue=self.queue,
            submit=SubmitContext(parse_routes(self.topics), grants=self.grants),
            projects=self.projects,
            caller=self.caller,
            durable_replicas=self.durable_replicas,
        )

    def call(self, action: str, **params: Any) -> dict[str, Any]:
        """`action` with these parameters (dicts and lists sent as JSON, None left out)."""
        pairs = [
            (name, json.dumps(value) if isinstance(value, dict | list) else str(value))
            for name, value in params.items()
            if value is not None
        ]
        return ACTIONS[action](self.services, Params(pairs), f"R-{uuid.uuid4().hex[:8]}")
