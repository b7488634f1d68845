"""Every `IMM_*` variable the code reads is documented (README's settings table or docs/)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"\bIMM_[A-Z0-9_]*[A-Z0-9]\b")


def names_in(paths: list[Path]) -> set[str]:
    return {m for p in paths for m in NAME.findall(p.read_text(encoding="utf-8"))}


def test_every_setting_is_documented() -> None:
    code = names_in([*ROOT.glob("imm_engine/**/*.py"), *ROOT.glob("workers/**/*.py")])
    docs = names_in([ROOT / "README.md", *ROOT.glob("docs/**/*.md")])
    assert sorted(code - docs) == []
