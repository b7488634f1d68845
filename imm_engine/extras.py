"""Optional dependencies (the extras in pyproject.toml) and the error naming a missing one.

Only some deployments need a storage backend's SDK or a broker's client, so those come as
extras (`pip install 'imm-engine[s3]'`; `make install` and the images install `all`). A
configured feature checks for its extra when the service starts (or a command runs), so a
missing one stops it with an error naming the extra, not an ImportError deep inside a task.
"""

from __future__ import annotations

import importlib


class MissingExtra(ImportError):
    """A configured feature needs an extra that is not installed."""


def require(extra: str, module: str, what: str) -> None:
    """Import `module` (which the extra `extra` installs), or raise MissingExtra saying that
    `what` needs that extra."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtra(
            f"{what} needs the {extra!r} extra ({exc}): pip install 'imm-engine[{extra}]'"
        ) from exc
