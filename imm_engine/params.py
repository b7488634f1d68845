"""Request parameters as the POP wire carries them: strings, some holding JSON (pure).

Query and form body are merged; a name given twice is refused rather than guessed at.
Booleans are accepted in any case (the Python SDK sends `True`/`False`, others `true`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from imm_engine.errors import ApiError, invalid, missing

#: Parameters of the signature schemes: never business parameters.
SIGNATURE_PARAMS = frozenset(
    {
        "AccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "SignatureNonce",
        "SignatureType", "Timestamp", "Format", "Version", "Action", "RegionId", "SecurityToken",
    }
)  # fmt: skip

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


class Params:
    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        values: dict[str, str] = {}
        for name, value in pairs:
            if name in values:
                raise invalid(name, "it is given more than once")
            values[name] = value
        self.values = values

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def raw(self, name: str) -> str | None:
        return self.values.get(name)

    def get_str(self, name: str, *, required: bool = False, max_bytes: int = 4096) -> str | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise missing(name)
            return None
        if len(value.encode("utf-8")) > max_bytes:
            raise invalid(name, f"it is longer than {max_bytes} bytes")
        return value

    def get_int(self, name: str, *, lo: int, hi: int, required: bool = False) -> int | None:
        value = self.get_str(name, required=required, max_bytes=32)
        if value is None:
            return None
        try:
            number = int(value.strip())
        except ValueError:
            raise invalid(name, f"'{value}' is not an integer") from None
        if not lo <= number <= hi:
            raise invalid(name, f"{number} is outside the range {lo} to {hi}")
        return number

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self.get_str(name, max_bytes=8)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise invalid(name, f"'{value}' is not a boolean (true or false)")

    def get_json(self, name: str, kind: type, *, max_bytes: int = 65536) -> Any:
        value = self.get_str(name, max_bytes=max_bytes)
        if value is None:
            return None
        try:
            decoded = json.loads(value)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply to decode
            raise ApiError(
                "InvalidJSON", f"The parameter {name} is not valid JSON: {value[:80]!r}"
            ) from None
        if not isinstance(decoded, kind):
            expected = (
                "a JSON object"
                if kind is dict
                else "a JSON array"
                if kind is list
                else kind.__name__
            )
            raise invalid(name, f"it must be {expected}")
        return decoded
