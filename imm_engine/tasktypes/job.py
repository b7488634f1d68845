"""A task's typed job: its validated parameters as a frozen dataclass.

The API parses the request into a job once (the task type's `parse`), the record stores it as a
JSON object (`to_record`), and the worker reads it back (`from_record`) and hands it, typed, to
the task type's processor. Field names are the keys the record holds, so records written by an
earlier release read unchanged: a key the job no longer knows is ignored, and a key it gained
since takes the field's default (format history: docs/architecture.md, "Upgrades").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Self

from imm_engine.targets.uris import SCHEME


@dataclasses.dataclass(frozen=True)
class Job:
    """Base of every task type's job. A subclass is a frozen dataclass of JSON values (str,
    int, float, bool, None, lists and dicts of them); one that nests its own dataclasses
    overrides `from_record` to rebuild them."""

    def to_record(self) -> dict[str, Any]:
        """The JSON object the record stores: one key per field, None fields left out."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> Self:
        """The job a record holds; unknown keys (a newer release's) are ignored and missing
        ones (an older release's) take their defaults."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def reads(self) -> list[str]:
        """The `oss://` objects the task reads (grant checks at submission)."""
        return []

    def writes(self) -> list[str]:
        """The `oss://` objects or prefixes the task writes, where known before the run. A
        target template whose bucket is a variable other than `{bucket}` is checked by the
        worker when it writes."""
        return []

    def metric_labels(self) -> tuple[str, str]:
        """(source family, target format) for the metrics: values from closed sets only
        (imm_engine/metrics/labels.py), "" where a task type has none."""
        return "", ""


def template_target(template: str | None, source: str | None) -> list[str]:
    """What a target template writes, when its bucket is known before the run."""
    if not template or not template.startswith(SCHEME):
        return []
    bucket = template[len(SCHEME) :].partition("/")[0]
    if bucket == "{bucket}":
        return [source] if source else []
    if "{" in bucket or "}" in bucket:
        return []
    return [template]


def uri_of(value: Any) -> str:
    """A URI given as a string or as an `{"URI": ...}` object ("" when neither)."""
    if isinstance(value, dict):
        value = value.get("URI")
    return value if isinstance(value, str) else ""


@dataclasses.dataclass(frozen=True)
class DictJob(Job):
    """TRANSITIONAL: a job still read as a plain dict (being replaced by typed jobs)."""

    data: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        return dict(self.data)

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> Self:
        return cls(dict(data))

    def reads(self) -> list[str]:
        from imm_engine.tasktypes.access import job_uris

        return job_uris(self.data, {})[0]

    def writes(self) -> list[str]:
        from imm_engine.tasktypes.access import job_uris

        return job_uris(self.data, {})[1]
