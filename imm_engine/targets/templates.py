"""IMM `TargetURI` templates (pure).

The syntax is that of Python's `str.format` reduced to what IMM documents: `{name}` for a
built-in variable, `{tags.<key>}` for a request tag, `{{` and `}}` for literal braces.
Conversions (`!r`), format specs (`:>3`), indexing and attribute access other than `tags.`
are refused, so a template can never reach into Python objects. Values are substituted
once, as text: a value that itself contains `{index}` stays literal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from imm_engine.errors import InvalidValue
from imm_engine.targets import uris

#: Variables every IMM operation offers, computed from the source object and the task.
PUBLIC_VARIABLES = frozenset(
    {
        "bucket", "key", "dirname", "barename", "basename", "ext",
        "year", "mon", "day", "hour", "min", "sec",
        "t_year", "t_mon", "t_day", "t_hour", "t_min", "t_sec",
    }
)  # fmt: skip
#: CreateOfficeConversionTask adds these.
OFFICE_VARIABLES = PUBLIC_VARIABLES | {"index", "sheetname", "autoext"}

MAX_TEMPLATE_LENGTH = 2048


@dataclass(frozen=True)
class Field:
    name: str  # "index", or "tags.<key>"

    @property
    def tag(self) -> str | None:
        return self.name[5:] if self.name.startswith("tags.") else None


@dataclass(frozen=True)
class Template:
    parts: tuple[str | Field, ...]

    @property
    def variables(self) -> frozenset[str]:
        return frozenset(p.name for p in self.parts if isinstance(p, Field) and p.tag is None)

    @property
    def tags(self) -> frozenset[str]:
        return frozenset(p.tag for p in self.parts if isinstance(p, Field) and p.tag is not None)

    def render(self, values: Mapping[str, str], tags: Mapping[str, Any]) -> str:
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            elif part.tag is not None:
                out.append(tag_text(tags[part.tag]))
            else:
                out.append(values[part.name])
        return "".join(out)


def tag_text(value: Any) -> str:
    """How a tag value reads inside a URI: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def parse(text: str, name: str = "TargetURI") -> Template:
    """Split `text` into literal parts and fields; refuse anything but plain fields."""
    if len(text) > MAX_TEMPLATE_LENGTH:
        raise InvalidValue(name, f"it is longer than {MAX_TEMPLATE_LENGTH} characters")
    parts: list[str | Field] = []
    literal: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "{" and text.startswith("{{", i):
            literal.append("{")
            i += 2
        elif ch == "}" and text.startswith("}}", i):
            literal.append("}")
            i += 2
        elif ch == "{":
            end = text.find("}", i + 1)
            if end < 0:
                raise InvalidValue(name, f"the '{{' at position {i} is never closed")
            field = text[i + 1 : end]
            _check_field(field, name)
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(Field(field))
            i = end + 1
        elif ch == "}":
            raise InvalidValue(
                name, f"single '}}' at position {i}; write '}}}}' for a literal brace"
            )
        else:
            literal.append(ch)
            i += 1
    if literal:
        parts.append("".join(literal))
    return Template(tuple(parts))


def _check_field(field: str, name: str) -> None:
    if field.startswith("tags."):
        key = field[5:]
        if not key or "{" in key:
            raise InvalidValue(name, f"'{{{field}}}' names no tag")
        return
    if not field.isidentifier():
        raise InvalidValue(
            name,
            f"'{{{field}}}' is not a template variable; only plain names such as {{barename}} "
            "and {tags.<key>} are allowed",
        )


def check(template: Template, allowed: frozenset[str], tags: Mapping[str, Any], name: str) -> None:
    """Refuse variables the operation does not offer and tags the request does not carry."""
    unknown = sorted(template.variables - allowed)
    if unknown:
        raise InvalidValue(
            name,
            f"unknown template variable(s) {', '.join('{' + u + '}' for u in unknown)}; "
            f"known: {', '.join(sorted(allowed))}",
        )
    absent = sorted(template.tags - set(tags))
    if absent:
        raise InvalidValue(
            name,
            f"template uses {', '.join('{tags.' + t + '}' for t in absent)} "
            "but Tags has no such key",
        )


def render_uri(
    template: Template, values: Mapping[str, str], tags: Mapping[str, Any], name: str
) -> uris.OssUri:
    """Render and validate one output URI. Empty variables do not leave `//` in the key."""
    text = template.render(values, tags)
    if text.startswith(uris.SCHEME):
        bucket, slash, key = text[len(uris.SCHEME) :].partition("/")
        if slash:
            text = f"{uris.SCHEME}{bucket}/{uris.normalise_rendered_key(key)}"
    return uris.parse_object(text, name)
