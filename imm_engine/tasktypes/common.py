"""Parameters several task types share: JSON source lists, rotations, target objects (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from imm_engine.api.params import Params
from imm_engine.errors import InvalidValue, invalid, missing
from imm_engine.targets import uris

ROTATIONS = (0, 90, 180, 270)


def target_object(params: Params, name: str = "TargetURI", *, required: bool = True) -> str | None:
    """A parameter naming one output object, e.g. `oss://bucket/out/doc.pdf`."""
    value = params.get_str(name, required=required, max_bytes=2048)
    if value is None:
        return None
    return str(uris.parse_object(value, name))


def check_keys(item: dict[str, Any], allowed: Iterable[str], where: str) -> None:
    """Refuse keys this server does not know, rather than ignore them silently. Empty values
    (`[]`, `{}`, null: what SDKs send for unset lists) count as absent."""
    unknown = sorted(k for k in set(item) - set(allowed) if item[k] not in (None, [], {}, ""))
    if unknown:
        raise InvalidValue(where, f"unknown or unsupported field(s) {', '.join(unknown)}")


def number(
    item: dict[str, Any], key: str, where: str, *, lo: float, hi: float, default: float | None
) -> float | None:
    """A JSON number (or a numeric string, as some SDKs send) within [lo, hi]."""
    value = item.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        raise invalid(where, f"{key} must be a number")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise invalid(where, f"{key} must be a number, not {value!r}") from None
    if not isinstance(value, int | float) or value != value:  # NaN
        raise invalid(where, f"{key} must be a number")
    if not lo <= value <= hi:
        raise invalid(where, f"{key} {value} is outside the range {lo:g} to {hi:g}")
    return float(value)


def integer(
    item: dict[str, Any], key: str, where: str, *, lo: int, hi: int, default: int | None
) -> int | None:
    value = number(item, key, where, lo=lo, hi=hi, default=None)
    if value is None:
        return default
    if value != int(value):
        raise invalid(where, f"{key} must be a whole number")
    return int(value)


def boolean(item: dict[str, Any], key: str, where: str) -> bool:
    value = item.get(key, False)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise invalid(where, f"{key} must be true or false")
    return value


def rotation(item: dict[str, Any], where: str) -> int:
    value = integer(item, "Rotate", where, lo=0, hi=270, default=0)
    if value not in ROTATIONS:
        raise invalid(where, f"Rotate must be one of {', '.join(map(str, ROTATIONS))}")
    return value or 0


def image_sources(
    params: Params, *, max_items: int, formats: frozenset[str], name: str = "Sources"
) -> list[dict[str, Any]]:
    """`Sources` of the image tasks: `[{"URI": "oss://...", "Rotate": 0|90|180|270}, ...]`."""
    sources = params.get_json(name, list, max_bytes=1024 * 1024)
    if sources is None:
        raise missing(name)
    if not sources:
        raise invalid(name, "it lists no images")
    if len(sources) > max_items:
        raise invalid(name, f"it lists {len(sources)} images; at most {max_items} are allowed")
    out: list[dict[str, Any]] = []
    for i, item in enumerate(sources):
        where = f"{name}[{i}]"
        if not isinstance(item, dict):
            raise invalid(where, 'each source must be an object like {"URI": "oss://..."}')
        check_keys(item, ("URI", "Rotate"), where)
        uri = item.get("URI")
        if not isinstance(uri, str):
            raise invalid(where, "URI is missing")
        parsed = uris.parse_object(uri, f"{where}.URI")
        if parsed.ext not in formats:
            raise invalid(
                f"{where}.URI",
                f"'.{parsed.ext}' is not a supported image format ({', '.join(sorted(formats))})",
            )
        out.append({"URI": str(parsed), "Rotate": rotation(item, where)})
    return out
