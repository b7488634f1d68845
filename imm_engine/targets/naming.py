"""Output object names: TargetURI templates and TargetURIPrefix (pure).

With `TargetURIPrefix`, pages are named `<prefix>{index}.{autoext}` (`1.png`, `2.png`, ...;
`1_1.png` for the first page of the first sheet of a spreadsheet) and single outputs (pdf,
txt with LongText) `<prefix>{barename}.{autoext}`. See docs/api-behaviour.md.

Values known only at run time come from the document (a sheet may be named `..` or
`a/b`): `{sheetname}` is made one safe path segment, and a name that still cannot be an
object key fails the task with `InvalidArgument` instead of escaping its bucket.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

from imm_engine.errors import InvalidValue, TaskFailure
from imm_engine.targets import templates, uris

PREFIX_PAGE = "{index}.{autoext}"
PREFIX_SINGLE = "{barename}.{autoext}"


def source_values(source: uris.OssUri) -> dict[str, str]:
    return {
        "bucket": source.bucket,
        "key": source.key,
        "dirname": source.dirname,
        "barename": source.barename,
        "basename": source.basename,
        "ext": source.ext,
    }


def time_values(prefix: str, ts: float) -> dict[str, str]:
    """`year`, `mon`, ... (or `t_year`, ...) of `ts`, in UTC."""
    t = time.gmtime(ts)
    names = ("year", "mon", "day", "hour", "min", "sec")
    values = (
        f"{t.tm_year:04d}",
        f"{t.tm_mon:02d}",
        f"{t.tm_mday:02d}",
        f"{t.tm_hour:02d}",
        f"{t.tm_min:02d}",
        f"{t.tm_sec:02d}",
    )
    return {prefix + n: v for n, v in zip(names, values, strict=True)}


class Namer:
    """Renders the URI of each output of one task."""

    def __init__(
        self,
        source_uri: str,
        tags: Mapping[str, Any],
        *,
        template: str | None = None,
        prefix: str | None = None,
        source_mtime: float,
        task_start: float,
        single: bool,
    ) -> None:
        """`template` (a TargetURI) or else `prefix` (a TargetURIPrefix) names the outputs."""
        source = uris.parse_object(source_uri, "SourceURI")
        self.tags = tags
        self.values = {
            **source_values(source),
            **time_values("", source_mtime),
            **time_values("t_", task_start),
            "sheetname": "",
        }
        if template:
            self.template = templates.parse(template, "TargetURI")
        else:
            parsed = uris.parse_prefix(prefix or "", "TargetURIPrefix")
            pattern = PREFIX_SINGLE if single else PREFIX_PAGE
            self.template = templates.parse(
                f"oss://{_escape(parsed.bucket)}/{_escape(parsed.key)}{pattern}", "TargetURIPrefix"
            )

    def uri(self, *, index: str, autoext: str, sheetname: str = "") -> uris.OssUri:
        values = {
            **self.values,
            "index": index,
            "autoext": autoext,
            "sheetname": safe_segment(sheetname),
        }
        try:
            return templates.render_uri(self.template, values, self.tags, "TargetURI")
        except InvalidValue as err:
            raise TaskFailure(err.code, err.message) from err


_UNSAFE = re.compile(r"[/\\\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def safe_segment(value: str) -> str:
    """`value` as one path segment: no `/`, `\\` or control characters, never `.` or `..`."""
    value = _UNSAFE.sub("_", value)
    return "_" * len(value) if value in (".", "..") else value


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")
