"""Where the repository, the test corpus and the small fixture documents are."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
CORPUS = TESTS / "corpus"
FIXTURES = TESTS / "fixtures"
