"""FileUncompression: every file of a zip or tar archive (or the SelectedFiles) to a prefix.

Nothing is written until the whole archive has passed the checks: every chosen entry has a
safe relative name (no absolute path, no `..`, no segment above 255 bytes) and is a regular
file or a directory (no links, no devices), no two entries collide (the same file twice, or
`a` as a file and `a/b`), and the archive is within the entry, size and ratio limits. Each
entry is then streamed through a temporary file, one at a time, and uploaded under the
target prefix.
"""

from __future__ import annotations

from typing import Any

from imm_engine.errors import TaskFailure
from imm_engine.models import TaskRecord
from imm_engine.targets import uris
from imm_engine.tasktypes import file_uncompression
from imm_engine.tasktypes.file_uncompression import FileUncompressionJob
from workers.processors import archives
from workers.processors.base import TaskContext
from workers.processors.objects import fetch, upload

#: Files listed in the completion event; FileCount is always the full count.
MAX_LISTED = 1000


def limits(ctx: TaskContext) -> archives.Limits:
    s = ctx.settings
    return archives.Limits(s.archive_max_entries, s.archive_max_bytes, s.archive_max_ratio)


def chosen_entries(
    entries: list[archives.Entry], selected: list[str]
) -> list[tuple[archives.Entry, str]]:
    """The entries to extract with their safe names; SelectedFiles picks files or directories."""
    out: list[tuple[archives.Entry, str]] = []
    found: set[str] = set()
    for entry in entries:
        if selected:
            loose = entry.name.replace("\\", "/").strip("/")
            hit = next((s for s in selected if loose == s or loose.startswith(s + "/")), None)
            if hit is None:
                continue
            found.add(hit)
        name = archives.safe_name(entry.name)
        if not entry.is_dir:
            archives.check_entry_kind(entry)
        out.append((entry, name))
    missing = [s for s in selected if s not in found]
    if missing:
        raise TaskFailure(
            "InvalidArgument",
            "The parameter SelectedFiles is invalid: not in the archive: "
            + ", ".join(missing[:10]),
        )
    return out


def check_password(archive: archives.Archive, entries: list[archives.Entry]) -> None:
    """Fail before anything is written when the password is missing or wrong."""
    encrypted = next((e for e in entries if e.encrypted and not e.is_dir), None)
    if encrypted is not None:
        with archive.open(encrypted) as stream:
            stream.read(1)


class FileUncompression:
    task_type = file_uncompression.TASK_TYPE

    def run(self, job: FileUncompressionJob, rec: TaskRecord, ctx: TaskContext) -> dict[str, Any]:
        source = uris.parse_object(job.source, "SourceURI")
        prefix = uris.parse_prefix(job.target_prefix, "TargetURI")
        src = ctx.workdir / "archive"
        info = fetch(ctx, source, src)
        ctx.progress(5, force=True)
        archive = archives.open_archive(src, job.password, limits(ctx).max_entries)
        try:
            chosen = chosen_entries(archive.entries, job.selected)
            archives.check_names([(name, e.is_dir) for e, name in chosen])
            archives.check_limits([e for e, _ in chosen], info.size, limits(ctx))
            targets = []
            for entry, name in chosen:
                target = uris.OssUri(prefix.bucket, prefix.key + name)
                problem = uris.key_problem(target.key)
                if problem:
                    raise TaskFailure(
                        "InvalidFile.UnsafeEntry",
                        f"The archive entry {name[:200]!r} cannot be stored: {problem}.",
                    )
                targets.append((entry, target))
            check_password(archive, [e for e, _ in chosen])
            files = []
            total = 0
            for n, (entry, target) in enumerate(targets, 1):
                if entry.is_dir:
                    continue
                out = ctx.workdir / "entry"
                with archive.open(entry) as stream:
                    size = archives.copy_limited(stream, out, entry.size, entry.name)
                upload(ctx, out, target)
                out.unlink(missing_ok=True)
                total += size
                files.append({"URI": str(target), "Size": size})
                ctx.progress(5 + 94 * n / len(targets))
        finally:
            archive.close()
        return {
            "SourceURI": str(source),
            "TargetURI": str(prefix),
            "ArchiveFormat": archive.format,
            "FileCount": len(files),
            "TotalSize": total,
            "Files": files[:MAX_LISTED],
        }


PROCESSOR = FileUncompression()
