"""A task's typed job: its validated parameters as a frozen dataclass.

The API parses the request into a job once (the task type's `parse`), the record stores it as a
JSON object (`to_record`), and the worker reads it back (`from_record`) and hands it, typed, to
the task type's processor. Field names are the keys the record holds, so records written by an
earlier release read unchanged: a key the job no longer knows is ignored, and a key it gained
since takes the field's default (format history: docs/architecture.md, "Upgrades").
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from imm_engine.targets.uris import SCHEME


@dataclasses.dataclass(frozen=True)
class Job:
    """Base of every task type's job. A subclass is a frozen dataclass of JSON values (str,
    int, float, bool, None, lists and dicts of them) and of nested frozen dataclasses of the
    same (a field typed `X`, `X | None`, `list[X]` or `list[X] | None`), which `from_record`
    rebuilds by the field's type."""

    def to_record(self) -> dict[str, Any]:
        """The JSON object the record stores: one key per field, None fields left out."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> Self:
        """The job a record holds; unknown keys (a newer release's) are ignored and missing
        ones (an older release's) take their defaults, in nested objects too. A record that
        lacks a field without a default raises UnreadableJob."""
        try:
            return _build(cls, data)
        except TypeError as exc:  # a required field missing, or a nested value of the wrong shape
            raise UnreadableJob(f"{cls.__name__}: {exc}") from exc

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


class UnreadableJob(ValueError):
    """A stored job that this release cannot read (a damaged or foreign record)."""


T = TypeVar("T")


def _build(cls: type[T], data: Mapping[str, Any]) -> T:
    """Dataclass `cls` from a JSON object: its fields' keys only, nested dataclasses rebuilt."""
    hints = _field_types(cls)
    return cls(**{name: _value(hint, data[name]) for name, hint in hints.items() if name in data})


_FIELD_TYPES: dict[type[Any], dict[str, Any]] = {}


def _field_types(cls: type[Any]) -> dict[str, Any]:
    """Field name -> its type, resolved once per class (annotations are strings here)."""
    if cls not in _FIELD_TYPES:
        hints = typing.get_type_hints(cls)
        _FIELD_TYPES[cls] = {f.name: hints[f.name] for f in dataclasses.fields(cls)}
    return _FIELD_TYPES[cls]


def _value(hint: Any, value: Any) -> Any:
    """`value` as a field typed `hint` holds it: a JSON object or a list of them becomes the
    nested dataclass (or list of them) the type names; anything else is kept as it is."""
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        kinds = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(kinds) != 1 or value is None:
            return value
        hint = kinds[0]
    if isinstance(hint, type) and dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
        return _build(hint, value)
    if typing.get_origin(hint) is list and isinstance(value, list):
        item = typing.get_args(hint)[0]
        if isinstance(item, type) and dataclasses.is_dataclass(item):
            return [_build(item, v) if isinstance(v, Mapping) else v for v in value]
    return value


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
