"""What every action is given: the stores, the queue and the submission context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from imm_engine.params import Params
from imm_engine.queue import TaskQueue
from imm_engine.state.projects import ProjectStore
from imm_engine.state.store import TaskStore
from imm_engine.tasktypes import SubmitContext


@dataclass(frozen=True)
class Services:
    store: TaskStore
    queue: TaskQueue
    submit: SubmitContext
    projects: ProjectStore


Handler = Callable[[Services, Params, str], dict[str, Any]]
