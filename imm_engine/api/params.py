"""Request parameters as the POP wire carries them: strings, some holding JSON (pure).

Query and form body are merged; a name given twice is refused rather than guessed at.
Booleans are accepted in any case (the Python SDK sends `True`/`False`, others `true`).
Integers are plain ASCII decimals (`96`, `-1`, `+5`): not `96.0`, `1e3`, `1_000` or other
scripts' digits. JSON-string parameters must be standard JSON (no `NaN`/`Infinity`), at most
`MAX_JSON_DEPTH` levels deep, without unpaired surrogate escapes (`"\\ud800"`), so that
whatever is accepted can be stored and answered as UTF-8 JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from imm_engine.errors import ApiError, InvalidValue, invalid, missing

#: Parameters of the signature schemes: never business parameters.
SIGNATURE_PARAMS = frozenset(
    {
        "AccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "SignatureNonce",
        "SignatureType", "Timestamp", "Format", "Version", "Action", "RegionId", "SecurityToken",
    }
)  # fmt: skip

#: Deepest nesting of arrays and objects accepted in a JSON-string parameter.
MAX_JSON_DEPTH = 32
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_INTEGER = re.compile(r"[+-]?[0-9]{1,30}", re.ASCII)
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def refusal(err: InvalidValue) -> ApiError:
    """A value a pure parser refused (URIs, templates, pages, packing rules, ListTasks' query)
    as the client is answered. Only the API's edge calls it: the actions' table (actions.py
    `answering`), and legacy2017's handlers before they rename errors as 2017's; the worker
    and the CLI use the InvalidValue itself."""
    return invalid(err.field, err.reason)


class Params:
    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        values: dict[str, str] = {}
        for name, value in pairs:
            if name in values:
                raise invalid(name, "it is given more than once")
            if _SURROGATE.search(name) or _SURROGATE.search(value):
                raise invalid(name, "it is not valid UTF-8")
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
        if len(value.encode("utf-8", "surrogatepass")) > max_bytes:
            raise invalid(name, f"it is longer than {max_bytes} bytes")
        return value

    def get_int(self, name: str, *, lo: int, hi: int, required: bool = False) -> int | None:
        value = self.get_str(name, required=required, max_bytes=32)
        if value is None:
            return None
        if not _INTEGER.fullmatch(value.strip()):
            raise invalid(name, f"'{value[:40]}' is not an integer")
        number = int(value.strip())
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
            decoded = loads_json(value)
        except TooDeep:
            raise invalid(name, f"it is nested more than {MAX_JSON_DEPTH} levels") from None
        except NotACharacter:
            raise invalid(name, "it holds an unpaired surrogate escape such as \\ud800") from None
        except ValueError:
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


class TooDeep(ValueError):
    pass


class NotACharacter(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_json(text: str) -> Any:
    """Standard JSON that can be stored and sent back; ValueError (or a subclass) otherwise."""
    # The nesting is checked on the text first: the decoder recurses once per level.
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                raise TooDeep(f"nested more than {MAX_JSON_DEPTH} levels")
        elif ch in "]}":
            depth -= 1
    try:
        decoded = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise TooDeep(f"nested more than {MAX_JSON_DEPTH} levels") from None
    try:
        json.dumps(decoded, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise NotACharacter("unpaired surrogate") from None
    return decoded
