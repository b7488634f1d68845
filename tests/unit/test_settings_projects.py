"""IMM_DEFAULT_PROJECTS (pure)."""

from __future__ import annotations

import pytest

from imm_engine.settings import Settings, SettingsError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ()),
        ("", ()),
        ("demo", ("demo",)),
        (" a , b_2 ,", ("a", "b_2")),
        ("_x-y", ("_x-y",)),
    ],
)
def test_default_projects(value: str | None, expected: tuple[str, ...]) -> None:
    env = {} if value is None else {"IMM_DEFAULT_PROJECTS": value}
    assert Settings.from_env(env).default_projects == expected


@pytest.mark.parametrize("value", ["9lives", "a,b c", "x" * 129, "dot.ted"])
def test_bad_default_projects(value: str) -> None:
    with pytest.raises(SettingsError, match="IMM_DEFAULT_PROJECTS"):
        Settings.from_env({"IMM_DEFAULT_PROJECTS": value})
