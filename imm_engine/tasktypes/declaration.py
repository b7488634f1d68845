"""One declaration per task type: the single source the API, the worker, the grant checks and
the metrics read (in the spirit of dramatiq's actor registry and procrastinate's typed jobs).

A task type is a `TaskType` in its own module under imm_engine/tasktypes/ (its name, action,
queue, typed job, parser and limits) plus a processor under workers/processors/ that declares
`PROCESSOR`. Both are found by module discovery (imm_engine/tasktypes/__init__.py,
workers/processors/__init__.py): adding a task type touches no list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from imm_engine.api.params import SIGNATURE_PARAMS, Params
from imm_engine.tasktypes.base import (
    MAX_USER_DATA_BYTES,
    SECRET_PARAMS,
    Submission,
    SubmitContext,
    definition_value,
    parse_notification,
    parse_tags,
    project_name,
)
from imm_engine.tasktypes.job import Job

J = TypeVar("J", bound=Job)


@dataclass(frozen=True)
class TaskType(Generic[J]):
    #: IMM's TaskType, e.g. "OfficeConversion" (records, GetTask, ListTasks, metrics).
    name: str
    #: The API action that creates one, e.g. "CreateOfficeConversionTask".
    action: str
    #: Celery queue (without the key prefix) the task runs on.
    queue: str
    #: The typed job the processor runs with.
    job: type[J]
    #: Validates the task-specific parameters (and the task's tags, for templates) into the job;
    #: raises only validation errors.
    parse: Callable[[Params, dict[str, Any]], J]
    #: The bounds `parse` enforces, by IMM parameter (documented in docs/api-behaviour.md).
    limits: Mapping[str, int] = field(default_factory=dict)

    def submission(self, params: Params, ctx: SubmitContext) -> Submission[J]:
        """What every Create*Task request carries, plus this type's job."""
        project = project_name(params)
        tags = parse_tags(params)
        user_data = params.get_str("UserData", max_bytes=MAX_USER_DATA_BYTES) or ""
        notification = parse_notification(params, ctx)
        params.get_json("CredentialConfig", dict)  # accepted: see docs/api-behaviour.md
        job = self.parse(params, tags)
        definition = {
            k: ("******" if k in SECRET_PARAMS else definition_value(v))
            for k, v in params.values.items()
            if k not in SIGNATURE_PARAMS
        }
        return Submission(project, job, tags, user_data, notification, definition)

    def read_job(self, stored: Mapping[str, Any]) -> J:
        """The job a record stores, typed."""
        return self.job.from_record(stored)
