"""Where the settings' values come from: `IMM_*` variables of one mapping (pydantic-settings).

`Settings.from_env(os.environ)` at every entry point; tests pass a dict, so nothing leaks in
from the developer's shell. Names are case-sensitive, values are stripped and a blank variable
counts as unset (its default applies). Only the variables a field names (its validation alias)
or that the settings combine (`Settings.COMBINED`) are read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource


def variable_of(field: FieldInfo) -> str | None:
    """The `IMM_*` variable a field is read from (its validation alias), if any."""
    alias = field.validation_alias
    return alias if isinstance(alias, str) else None


class Variables(PydanticBaseSettingsSource):
    """The variables of `env` that `settings_cls` reads, by name."""

    def __init__(
        self, settings_cls: type[BaseSettings], env: Mapping[str, str], combined: Iterable[str]
    ) -> None:
        super().__init__(settings_cls)
        self.env = env
        names = {variable_of(f) for f in settings_cls.model_fields.values()}
        self.names = sorted({n for n in names if n} | set(combined))

    def text(self, name: str) -> str | None:
        value = self.env.get(name)
        return None if value is None or value.strip() == "" else value.strip()

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        name = variable_of(field) or field_name
        return self.text(name), name, False

    def __call__(self) -> dict[str, Any]:
        return {name: value for name in self.names if (value := self.text(name)) is not None}
