"""`<option>_env` indirections in a JSON section: secrets named, not written, in the JSON (pure).

A storage backend or a notification destination may give any option `x` as `"x_env": "VAR"`;
`VAR` is read once, when the service starts, so a missing secret stops it then rather than at
the first upload or delivery. An empty variable counts as not set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SUFFIX = "_env"


def resolve_env_refs(item: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """`item` with every `x_env` replaced by `x` read from `env`; ValueError naming the option."""
    resolved: dict[str, Any] = {}
    for key, value in item.items():
        if not (isinstance(key, str) and key.endswith(SUFFIX) and len(key) > len(SUFFIX)):
            resolved[key] = value
            continue
        real = key[: -len(SUFFIX)]
        if not isinstance(value, str) or not value:
            raise ValueError(f"'{key}' must name an environment variable")
        if real in item:
            raise ValueError(f"give '{real}' or '{key}', not both")
        secret = env.get(value)
        if not secret:
            raise ValueError(f"'{key}' names {value}, which is not set")
        resolved[real] = secret
    return resolved
