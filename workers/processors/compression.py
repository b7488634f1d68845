"""FileCompression: objects matched by the packing rules into one zip, written at TargetURI.

Each object is copied to a temporary file and added to a zip that is itself a temporary file
(deflate, zip64 when needed), so neither the objects nor the zip are ever held in memory.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterator
from typing import Any

from imm_engine.errors import InvalidValue, TaskFailure
from imm_engine.models import TaskRecord
from imm_engine.storage.base import ObjectInfo, StorageError
from imm_engine.storage.listing import PrefixLister
from imm_engine.targets import uris
from imm_engine.tasktypes import file_compression
from imm_engine.tasktypes.file_compression import (
    MAX_MANIFEST_RULES,
    FileCompressionJob,
    Rule,
    entry_name,
    parse_rules,
)
from workers.processors.base import TaskContext
from workers.processors.objects import fetch, upload

MAX_MANIFEST_BYTES = 64 * 1024 * 1024


def load_manifest(ctx: TaskContext, uri: uris.OssUri) -> list[Rule]:
    path = ctx.workdir / "manifest.json"
    fetch(ctx, uri, path, max_bytes=MAX_MANIFEST_BYTES)
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TaskFailure("InvalidJSON", f"The manifest {uri} is not valid JSON: {exc}") from exc
    try:
        return parse_rules(items, "SourceManifestURI", MAX_MANIFEST_RULES)
    except InvalidValue as exc:
        raise TaskFailure(exc.code, exc.message) from exc


def matches(ctx: TaskContext, rule: Rule) -> Iterator[tuple[uris.OssUri, ObjectInfo]]:
    bucket, key = rule.bucket, rule.key
    try:
        if rule.mode == "fullname":
            uri = uris.OssUri(bucket, key)
            info = ctx.storage.stat(uri)
            if info is None:
                raise TaskFailure("ResourceNotFound", f"The source object {uri} does not exist.")
            yield uri, info
            return
        if not isinstance(ctx.storage, PrefixLister):
            raise TaskFailure(
                "InvalidArgument",
                "This server's storage cannot list prefixes; use Mode fullname.",
            )
        for found, info in ctx.storage.list_prefix(bucket, key):
            yield uris.OssUri(bucket, found), info
    except StorageError as exc:
        raise TaskFailure(
            "SourceReadFailed", f"Cannot list oss://{bucket}/{key}: {exc}", retryable=exc.transient
        ) from exc


def plan(
    ctx: TaskContext, rules: list[Rule], target: uris.OssUri
) -> list[tuple[uris.OssUri, str, ObjectInfo]]:
    """Every (object, name in the zip) pair, checked against the limits before packing.
    The target itself is left out (a re-run must not pack the zip of the run before)."""
    max_files, max_bytes = ctx.settings.compress_max_files, ctx.settings.compress_max_bytes
    out: list[tuple[uris.OssUri, str, ObjectInfo]] = []
    names: dict[str, str] = {}
    total = 0
    for rule in rules:
        for uri, info in matches(ctx, rule):
            if uri == target:
                continue
            name = entry_name(rule, uri.key)
            if name in names and names[name] != str(uri):
                raise TaskFailure(
                    "InvalidArgument.DuplicateEntry",
                    f"{names[name]} and {uri} would both be stored as {name!r} in the zip; "
                    "change an Alias.",
                )
            if name in names:
                continue  # the same object matched by two rules: stored once
            names[name] = str(uri)
            total += info.size
            out.append((uri, name, info))
            if len(out) > max_files:
                raise TaskFailure(
                    "InvalidArgument.TooManyFiles",
                    f"The sources match more than {max_files} files.",
                )
            if total > max_bytes:
                raise TaskFailure(
                    "InvalidArgument.TooLarge",
                    f"The sources add up to more than {max_bytes} bytes.",
                )
    if not out:
        raise TaskFailure("ResourceNotFound", "The sources match no objects.")
    return out


class FileCompression:
    task_type = file_compression.TASK_TYPE

    def run(self, job: FileCompressionJob, rec: TaskRecord, ctx: TaskContext) -> dict[str, Any]:
        target = uris.parse_object(job.target, "TargetURI")
        if job.manifest:
            rules = load_manifest(ctx, uris.parse_object(job.manifest, "SourceManifestURI"))
        else:
            rules = job.rules or []
        files = plan(ctx, rules, target)
        ctx.progress(5, force=True)
        out = ctx.workdir / "out.zip"
        part = ctx.workdir / "part"
        total = 0
        with zipfile.ZipFile(
            out, "w", zipfile.ZIP_DEFLATED, allowZip64=True, strict_timestamps=False
        ) as zf:
            for n, (uri, name, info) in enumerate(files, 1):
                fetch(ctx, uri, part, max_bytes=ctx.settings.compress_max_bytes)
                os.utime(part, (info.mtime, info.mtime))
                zf.write(part, name)
                total += info.size
                part.unlink(missing_ok=True)
                ctx.progress(5 + 90 * n / len(files))
        upload(ctx, out, target)
        return {
            "TargetURI": str(target),
            "FileCount": len(files),
            "TotalSize": total,
            "CompressedSize": out.stat().st_size,
        }


PROCESSOR = FileCompression()
