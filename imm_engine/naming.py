"""Output object names: TargetURI templates and TargetURIPrefix (pure).

With `TargetURIPrefix`, pages are named `<prefix>{index}.{autoext}` (`1.png`, `2.png`, ...;
`1_1.png` for the first page of the first sheet of a spreadsheet) and single outputs (pdf,
txt with LongText) `<prefix>{barename}.{autoext}`. See docs/api-behaviour.md.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from imm_engine import templates, uris

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
        job: Mapping[str, Any],
        tags: Mapping[str, Any],
        *,
        source_mtime: float,
        task_start: float,
        single: bool,
    ) -> None:
        source = uris.parse_object(job["source"], "SourceURI")
        self.tags = tags
        self.values = {
            **source_values(source),
            **time_values("", source_mtime),
            **time_values("t_", task_start),
            "sheetname": "",
        }
        if job.get("target_template"):
            self.template = templates.parse(job["target_template"], "TargetURI")
        else:
            prefix = uris.parse_prefix(job["target_prefix"], "TargetURIPrefix")
            pattern = PREFIX_SINGLE if single else PREFIX_PAGE
            self.template = templates.parse(
                f"oss://{_escape(prefix.bucket)}/{_escape(prefix.key)}{pattern}", "TargetURIPrefix"
            )

    def uri(self, *, index: str, autoext: str, sheetname: str = "") -> uris.OssUri:
        values = {**self.values, "index": index, "autoext": autoext, "sheetname": sheetname}
        return templates.render_uri(self.template, values, self.tags, "TargetURI")


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")
