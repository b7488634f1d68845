"""Text of one `IMM_*` variable to a typed value, with messages that name the variable (pure).

Each parser is a pydantic `BeforeValidator` for one field of `Settings`. A variable's text
arrives stripped (imm_engine/config/source.py); a value given in code (`Settings(api_port=1)`)
is checked against the same bounds. A parser raises `Refused` with the message after the
variable's name, and `settings_error` puts the name in front: the name is the field's alias.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, BeforeValidator, ValidationError

from imm_engine.config.source import variable_of
from imm_engine.state import connection


class SettingsError(ValueError):
    """A variable has a value we cannot use; the message names it."""


class Refused(ValueError):
    """A value one variable cannot take; `rest` continues the message after its name."""

    def __init__(self, rest: str) -> None:
        super().__init__(rest)
        self.rest = rest


def settings_error(exc: ValidationError, model: type[BaseModel]) -> SettingsError:
    """The first problem of a failed validation, as a message naming its variable."""
    error = exc.errors()[0]
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, SettingsError):
        return cause
    loc = error["loc"]
    field = model.model_fields.get(str(loc[0])) if loc else None
    name = (variable_of(field) if field else None) or ".".join(str(p) for p in loc)
    if isinstance(cause, Refused):
        return SettingsError(f"{name}{cause.rest}")
    return SettingsError(f"{name}: {error['msg']}")


def _ranged(lo: float, hi: float, parse: Callable[[str], float], kind: str) -> BeforeValidator:
    def check(value: Any) -> Any:
        number = value
        if isinstance(value, str):
            try:
                number = parse(value)
            except ValueError:
                raise Refused(f"={value!r} is not {kind}") from None
        if isinstance(number, int | float) and not lo <= number <= hi:
            raise Refused(f"={number} is outside {lo}..{hi}")
        return number

    return BeforeValidator(check)


def integer(lo: int, hi: int) -> BeforeValidator:
    """A whole number in lo..hi (Python's `int()` syntax)."""
    return _ranged(lo, hi, int, "an integer")


def number(lo: float, hi: float) -> BeforeValidator:
    """A number in lo..hi (`float()` syntax; nan and inf are outside every range)."""
    return _ranged(lo, hi, float, "a number")


def _choose(value: str, options: tuple[str, ...]) -> str:
    lowered = value.lower()
    if lowered not in options:
        raise Refused(f"={lowered!r}: choose one of {', '.join(options)}")
    return lowered


def choice(*options: str) -> BeforeValidator:
    """One of `options`, in any case."""
    return BeforeValidator(
        lambda value: _choose(value, options) if isinstance(value, str) else value
    )


def on_off() -> BeforeValidator:
    """`on` (True) or `off` (False), in any case."""
    return BeforeValidator(
        lambda value: _choose(value, ("on", "off")) == "on" if isinstance(value, str) else value
    )


def flag() -> BeforeValidator:
    """true/false, yes/no, on/off or 1/0."""

    def check(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        lowered = value.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise Refused(f"={lowered!r}: use true or false")

    return BeforeValidator(check)


def ident() -> BeforeValidator:
    """Letters, digits, '-' and '_' (a key prefix shared by Redis keys and queue names)."""

    def check(value: Any) -> Any:
        if isinstance(value, str) and not value.replace("-", "").replace("_", "").isalnum():
            raise Refused(f"={value!r}: use letters, digits, '-' and '_' only")
        return value

    return BeforeValidator(check)


def redis_address() -> BeforeValidator:
    """A Redis URL (or, for the broker, any other URL kombu takes), checked if Sentinel."""

    def check(value: Any) -> Any:
        if isinstance(value, str) and connection.is_sentinel_url(value):
            try:
                connection.parse(value)
            except connection.RedisUrlError as exc:
                raise Refused(f": {exc}") from None
        return value

    return BeforeValidator(check)
