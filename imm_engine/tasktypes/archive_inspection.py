"""CreateArchiveFileInspectionTask: list the entries of a zip or tar archive, extracting nothing."""

from __future__ import annotations

from typing import Any

from imm_engine.api.params import Params
from imm_engine.targets import uris
from imm_engine.tasktypes.base import TaskTypeSpec


def parse_job(params: Params, tags: dict[str, Any]) -> dict[str, Any]:
    source = uris.parse_object(
        params.get_str("SourceURI", required=True, max_bytes=2048) or "", "SourceURI"
    )
    return {"source": str(source), "password": params.get_str("Password", max_bytes=512) or ""}


SPEC = TaskTypeSpec(
    task_type="ArchiveFileInspection",
    action="CreateArchiveFileInspectionTask",
    queue="files",
    parse_job=parse_job,
)
