"""The buckets a task will read and write, from its validated job (pure).

Used at submission to refuse, with 403 `AccessDenied`, a task whose project's ServiceRole is
not granted them. A target template whose bucket is itself a variable other than
`{bucket}` cannot be known before the run; the worker checks it when it writes.

Job shapes (built by each task type's `parse_job`): `source` (a URI, or MediaConvert's
`{"URI": ...}`), `sources` (image `{"URI"}` lists), `rules` (FileCompression's
`{bucket, key}`), `manifest`; `target`, `target_prefix`, `target_template`, and
MediaConvert's `targets` with their `Snapshots`.
"""

from __future__ import annotations

from typing import Any

from imm_engine.targets.uris import SCHEME


def job_uris(job: dict[str, Any], notification: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(URIs read, URIs written); each `oss://bucket/...`."""
    reads: list[str] = []
    writes: list[str] = []
    source = _uri(job.get("source"))
    if source:
        reads.append(source)
    reads += [u for u in map(_uri, job.get("sources") or ()) if u]
    reads += [f"{SCHEME}{r['bucket']}/{r['key']}" for r in job.get("rules") or ()]
    if isinstance(job.get("manifest"), str):
        reads.append(job["manifest"])
    for name in ("target", "target_prefix"):
        if isinstance(job.get(name), str):
            writes.append(job[name])
    templates = [job.get("target_template")]
    for target in job.get("targets") or ():
        templates.append(target.get("URI"))
        templates += [s.get("URI") for s in target.get("Snapshots") or ()]
    for template in templates:
        if isinstance(template, str):
            writes += _template_target(template, source)
    ext = notification.get("ExtendedMessageURI")
    if isinstance(ext, str):
        writes.append(ext)
    return reads, writes


def _uri(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("URI")
    return value if isinstance(value, str) else ""


def _template_target(template: str, source: str) -> list[str]:
    """What a target template writes, when its bucket is known before the run."""
    if not template.startswith(SCHEME):
        return []
    bucket = template[len(SCHEME) :].partition("/")[0]
    if bucket == "{bucket}":
        return [source] if source else []
    if "{" in bucket or "}" in bucket:
        return []
    return [template]
