"""CreateFileCompressionTask: pack objects and prefixes into one zip at TargetURI.

A rule is `{"URI": "oss://bucket/dir/", "Mode": "prefix"|"fullname", "Alias": "/new/"}`.
`Sources` holds up to 100 rules; `SourceManifestURI` names a JSON object in storage with up
to 80,000 (read by the worker, validated with the same function).

Entry names inside the zip (see `entry_name`): no Alias keeps the object key; an Alias ending
in `/` re-roots what the rule matched under that directory (`/` alone: every file at the root
under its base name); any other Alias renames the one matched object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imm_engine.api.params import Params
from imm_engine.errors import InvalidValue, invalid
from imm_engine.targets import uris
from imm_engine.tasktypes.base import require_one
from imm_engine.tasktypes.common import check_keys, target_object
from imm_engine.tasktypes.declaration import TaskType
from imm_engine.tasktypes.job import Job

MAX_RULES = 100
MAX_MANIFEST_RULES = 80_000
MODES = ("prefix", "fullname")
FORMATS = ("zip",)


@dataclass(frozen=True)
class Rule:
    """One validated packing rule: what it matches (`oss://bucket/key`, a prefix or one
    object by `mode`) and the `alias` that names it in the zip ("" for none)."""

    bucket: str
    key: str
    mode: str
    alias: str


@dataclass(frozen=True)
class FileCompressionJob(Job):
    format: str
    #: The zip to write.
    target: str
    #: The rules of `Sources`, or None when they are in the `manifest` object (read at run time).
    rules: list[Rule] | None = None
    manifest: str | None = None

    def reads(self) -> list[str]:
        listed = [f"{uris.SCHEME}{r.bucket}/{r.key}" for r in self.rules or ()]
        return listed + ([self.manifest] if self.manifest is not None else [])

    def writes(self) -> list[str]:
        return [self.target]

    def metric_labels(self) -> tuple[str, str]:
        return "", "zip"


def parse_job(params: Params, tags: dict[str, Any]) -> FileCompressionJob:
    fmt = (params.get_str("CompressedFormat", max_bytes=16) or "zip").lower()
    if fmt not in FORMATS:
        raise invalid("CompressedFormat", f"'{fmt}' is not supported; only zip is")
    target = target_object(params) or ""
    if require_one(params, "Sources", "SourceManifestURI") == "Sources":
        items = params.get_json("Sources", list, max_bytes=1024 * 1024)
        return FileCompressionJob(fmt, target, rules=parse_rules(items, "Sources", MAX_RULES))
    manifest = params.get_str("SourceManifestURI", max_bytes=2048) or ""
    manifest = str(uris.parse_object(manifest, "SourceManifestURI"))
    return FileCompressionJob(fmt, target, manifest=manifest)


def parse_rules(items: Any, name: str, max_rules: int) -> list[Rule]:
    """Validate packing rules (`Sources` or a manifest)."""
    if not isinstance(items, list):
        raise InvalidValue(name, "it must be a JSON array of rules")
    if not items:
        raise InvalidValue(name, "it lists no sources")
    if len(items) > max_rules:
        raise InvalidValue(name, f"it has {len(items)} rules; at most {max_rules} are allowed")
    rules = []
    for i, item in enumerate(items):
        where = f"{name}[{i}]"
        if not isinstance(item, dict):
            raise InvalidValue(where, 'each rule must be an object like {"URI": "oss://..."}')
        check_keys(item, ("URI", "Alias", "Mode"), where)
        mode = item.get("Mode") or "prefix"
        if mode not in MODES:
            raise InvalidValue(where, f"Mode '{mode}' is not one of {', '.join(MODES)}")
        uri = item.get("URI")
        if not isinstance(uri, str):
            raise InvalidValue(where, "URI is missing")
        parsed = (
            uris.parse_object(uri, f"{where}.URI")
            if mode == "fullname"
            else _parse_prefix(uri, f"{where}.URI")
        )
        alias = item.get("Alias") or ""
        if not isinstance(alias, str):
            raise InvalidValue(where, "Alias must be a string")
        if alias:
            _check_alias(alias, f"{where}.Alias")
        rules.append(Rule(parsed.bucket, parsed.key, mode, alias))
    return rules


def _parse_prefix(value: str, name: str) -> uris.OssUri:
    """A prefix as OSS matches it: `oss://b/dir/` (a directory), `oss://b/di` or `oss://b/`."""
    parsed = uris.parse_prefix(value, name)
    # parse_prefix appends "/"; a prefix rule matches keys by plain string prefix, so keep it as
    # written (`oss://b/report` matches report.pdf and report/1.png).
    key = value[len(uris.SCHEME) + len(parsed.bucket) + 1 :]
    return uris.OssUri(parsed.bucket, key)


def _check_alias(alias: str, name: str) -> None:
    if not alias.startswith("/"):
        raise InvalidValue(name, "it must start with '/', e.g. /new-dir/ or /new-name.doc")
    if "\\" in alias or any(ord(c) < 32 for c in alias):
        raise InvalidValue(name, "it must not contain backslashes or control characters")
    segments = alias.strip("/").split("/")
    if alias != "/" and any(seg in ("", ".", "..") for seg in segments):
        raise InvalidValue(name, "it must not contain empty, '.' or '..' path segments")


def entry_name(rule: Rule, key: str) -> str:
    """The path inside the zip of object `key`, matched by `rule` (pure)."""
    alias = rule.alias
    if not alias:
        return key
    basename = key.rsplit("/", 1)[-1]
    if alias == "/":
        return basename
    if not alias.endswith("/"):
        return alias.lstrip("/")
    root = alias.strip("/") + "/"
    if rule.mode == "fullname":
        return root + basename
    rule_key = rule.key
    base = rule_key[: rule_key.rfind("/") + 1]  # the directory part of the prefix
    return root + key[len(base) :]


TASK_TYPE = TaskType(
    name="FileCompression",
    action="CreateFileCompressionTask",
    queue="files",
    job=FileCompressionJob,
    parse=parse_job,
    limits={"Sources": MAX_RULES, "SourceManifestURI": MAX_MANIFEST_RULES},
)
