"""CreateArchiveFileInspectionTask: list the entries of a zip or tar archive, extracting nothing."""

from __future__ import annotations

from typing import Any

from imm_engine.api.params import Params
from imm_engine.targets import uris
from imm_engine.tasktypes.declaration import TaskType
from imm_engine.tasktypes.job import DictJob


def parse_job(params: Params, tags: dict[str, Any]) -> dict[str, Any]:
    source = uris.parse_object(
        params.get_str("SourceURI", required=True, max_bytes=2048) or "", "SourceURI"
    )
    return {"source": str(source), "password": params.get_str("Password", max_bytes=512) or ""}


def _parse(params: Params, tags: dict[str, Any]) -> DictJob:
    return DictJob(parse_job(params, tags))


TASK_TYPE = TaskType(
    name="ArchiveFileInspection",
    action="CreateArchiveFileInspectionTask",
    queue="files",
    job=DictJob,
    parse=_parse,
)
