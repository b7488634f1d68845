"""One JSON object of a configuration section validated by its typed model (pure).

A section (a notification destination's options, ...) is a pydantic dataclass whose fields say
the types, bounds and defaults; `parse_section` validates the JSON with it and words the first
problem the way the rest of the configuration does ("t: 'port' must be an integer in [1,
65535]"), naming the section. Unknown keys are left to the caller (a destination's JSON also
holds its `type`, `timeout` and `wrap`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, get_args

from pydantic import TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

T = TypeVar("T")

_INT_ERRORS = {"int_type", "int_parsing", "int_from_float", "greater_than_equal", "less_than_equal"}


def parse_section(model: type[T], name: str, item: Mapping[str, Any]) -> T:
    """`item` as a `model`; ValueError `<name>: <problem>` for the first problem."""
    try:
        return TypeAdapter(model).validate_python(dict(item))
    except ValidationError as exc:
        raise ValueError(f"{name}: {problem(exc.errors()[0], model)}") from None


def problem(error: ErrorDetails, model: type) -> str:
    """One validation error in words; a validator's own ValueError is already worded."""
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, ValueError):
        return str(cause)
    key = str(error["loc"][0]) if error["loc"] else ""
    field: FieldInfo | None = getattr(model, "__pydantic_fields__", {}).get(key)
    kind = error["type"]
    if kind == "missing" or (kind == "string_type" and error["input"] is None):
        return f"'{key}' is required"
    if kind == "string_too_short":
        return f"'{key}' must not be empty"
    if kind == "string_type":
        return f"'{key}' must be a string"
    if kind == "bool_type":
        return f"'{key}' must be true or false"
    if kind == "literal_error" and field is not None:
        choices = ", ".join(str(c) for c in get_args(field.annotation))
        return f"'{key}' must be one of {choices} (got {error['input']!r})"
    if kind in _INT_ERRORS and field is not None:
        low = next(m.ge for m in field.metadata if hasattr(m, "ge"))
        high = next(m.le for m in field.metadata if hasattr(m, "le"))
        return f"'{key}' must be an integer in [{low}, {high}]"
    return f"'{key}': {error['msg']}"
