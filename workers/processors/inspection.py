"""ArchiveFileInspection: the entries of a zip or tar archive, listed without extracting."""

from __future__ import annotations

from typing import Any

from imm_engine.models import TaskRecord, iso_time
from imm_engine.targets import uris
from imm_engine.tasktypes import archive_inspection
from imm_engine.tasktypes.archive_inspection import ArchiveFileInspectionJob
from workers.processors import archives
from workers.processors.base import TaskContext
from workers.processors.objects import fetch

#: Entries listed in the completion event; FileCount is always the full count.
MAX_LISTED = 10_000


def describe(entry: archives.Entry) -> dict[str, Any]:
    item: dict[str, Any] = {
        "Path": entry.name,
        "Size": entry.size,
        "ModifiedTime": iso_time(entry.mtime),
        "IsDir": entry.is_dir,
    }
    if entry.compressed is not None:
        item["CompressedSize"] = entry.compressed
    if entry.kind not in ("file", "dir"):
        item["Type"] = entry.kind
    if entry.encrypted:
        item["Encrypted"] = True
    return item


class ArchiveFileInspection:
    task_type = archive_inspection.TASK_TYPE

    def run(
        self, job: ArchiveFileInspectionJob, rec: TaskRecord, ctx: TaskContext
    ) -> dict[str, Any]:
        source = uris.parse_object(job.source, "SourceURI")
        src = ctx.workdir / "archive"
        fetch(ctx, source, src)
        ctx.progress(50, force=True)
        archive = archives.open_archive(src, job.password, ctx.settings.archive_max_entries)
        try:
            entries = archive.entries
        finally:
            archive.close()
        files = [e for e in entries if not e.is_dir]
        return {
            "SourceURI": str(source),
            "ArchiveFormat": archive.format,
            "FileCount": len(files),
            "EntryCount": len(entries),
            "TotalSize": sum(e.size for e in files),
            "Files": [describe(e) for e in entries[:MAX_LISTED]],
            "Truncated": len(entries) > MAX_LISTED,
        }


PROCESSOR = ArchiveFileInspection()
