"""Benchmark: imm-engine end to end vs. bare warm LibreOffice vs. cold `soffice --convert-to`.

Run it with `make bench` (or `.venv/bin/python -m bench.run --help`); see bench/README.md.
The bench drives the service only from outside (a subprocess, the official SDK, a webhook
receiver): it never imports `imm_engine` or `workers`.
"""

from __future__ import annotations

import shutil


class BenchError(RuntimeError):
    """Something went wrong that makes the numbers meaningless: stop and say what."""


def die_with_us(sig: str) -> list[str]:
    """A prefix that makes the child get `sig` when this process dies, even by SIGKILL."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", sig, "--"] if setpriv else []
