"""The buckets a task will read and write, from its validated job (pure).

Used at submission to refuse, with 403 `AccessDenied`, a task whose project's ServiceRole is
not granted them. A `TargetURI` template whose bucket is itself a variable other than
`{bucket}` cannot be known before the run; the worker checks it when it writes.
"""

from __future__ import annotations

from typing import Any

from imm_engine.uris import SCHEME


def job_uris(job: dict[str, Any], notification: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(URIs read, URIs written); each `oss://bucket/...`."""
    reads: list[str] = []
    writes: list[str] = []
    source = job.get("source")
    if isinstance(source, str):
        reads.append(source)
    prefix = job.get("target_prefix")
    if isinstance(prefix, str):
        writes.append(prefix)
    template = job.get("target_template")
    if isinstance(template, str) and template.startswith(SCHEME):
        bucket = template[len(SCHEME) :].partition("/")[0]
        if bucket == "{bucket}" and isinstance(source, str):
            writes.append(source)
        elif "{" not in bucket and "}" not in bucket:
            writes.append(template)
    ext = notification.get("ExtendedMessageURI")
    if isinstance(ext, str):
        writes.append(ext)
    return reads, writes
