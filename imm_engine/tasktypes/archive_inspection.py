"""CreateArchiveFileInspectionTask: list the entries of a zip or tar archive, extracting nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imm_engine.api.params import Params
from imm_engine.targets import uris
from imm_engine.tasktypes.declaration import TaskType
from imm_engine.tasktypes.job import Job


@dataclass(frozen=True)
class ArchiveFileInspectionJob(Job):
    #: The archive.
    source: str
    password: str = ""

    def reads(self) -> list[str]:
        return [self.source]


def parse_job(params: Params, tags: dict[str, Any]) -> ArchiveFileInspectionJob:
    source = uris.parse_object(
        params.get_str("SourceURI", required=True, max_bytes=2048) or "", "SourceURI"
    )
    return ArchiveFileInspectionJob(str(source), params.get_str("Password", max_bytes=512) or "")


TASK_TYPE = TaskType(
    name="ArchiveFileInspection",
    action="CreateArchiveFileInspectionTask",
    queue="files",
    job=ArchiveFileInspectionJob,
    parse=parse_job,
)
