"""CreateFileUncompressionTask: extract a zip or tar archive (or the SelectedFiles) to a prefix.

`TargetURI` is the directory the entries are written under (`oss://bucket/dir/`); when it is
not given, the archive's own directory plus its bare name (`a/b.zip` -> `a/b/`). The worker
refuses an archive with unsafe entries (absolute or `..` paths, links, devices) or past the
limits (entries, total size, compression ratio) before it writes anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from imm_engine.api.params import Params
from imm_engine.errors import invalid
from imm_engine.targets import uris
from imm_engine.tasktypes.declaration import TaskType
from imm_engine.tasktypes.job import Job

MAX_SELECTED = 1000


@dataclass(frozen=True)
class FileUncompressionJob(Job):
    #: The archive.
    source: str
    #: The directory the entries are written under (`oss://bucket/dir/`).
    target_prefix: str
    #: The SelectedFiles (paths in the archive, without leading or trailing `/`); [] for all.
    selected: list[str] = field(default_factory=list)
    password: str = ""

    def reads(self) -> list[str]:
        return [self.source]

    def writes(self) -> list[str]:
        return [self.target_prefix]


def parse_job(params: Params, tags: dict[str, Any]) -> FileUncompressionJob:
    source = uris.parse_object(
        params.get_str("SourceURI", required=True, max_bytes=2048) or "", "SourceURI"
    )
    target = params.get_str("TargetURI", max_bytes=2048)
    if target is None:
        prefix = uris.OssUri(source.bucket, f"{source.dirname}/{source.barename}/".lstrip("/"))
    else:
        prefix = uris.parse_prefix(target, "TargetURI")
    selected = params.get_json("SelectedFiles", list, max_bytes=256 * 1024) or []
    if len(selected) > MAX_SELECTED:
        raise invalid("SelectedFiles", f"it lists more than {MAX_SELECTED} files")
    for i, name in enumerate(selected):
        if not isinstance(name, str) or not name.strip("/"):
            raise invalid("SelectedFiles", f"item {i} must be a non-empty path in the archive")
    return FileUncompressionJob(
        source=str(source),
        target_prefix=str(prefix),
        selected=[s.strip("/") for s in selected],
        password=params.get_str("Password", max_bytes=512) or "",
    )


TASK_TYPE = TaskType(
    name="FileUncompression",
    action="CreateFileUncompressionTask",
    queue="files",
    job=FileUncompressionJob,
    parse=parse_job,
    limits={"SelectedFiles": MAX_SELECTED},
)
