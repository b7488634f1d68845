"""CreateOfficeConversionTask: Word, PowerPoint, Excel and PDF to png, jpg, pdf or txt."""

from __future__ import annotations

from typing import Any

from imm_engine import pages, templates, uris
from imm_engine.errors import invalid, missing
from imm_engine.formats import SOURCE_TYPES, TARGET_ALIASES, TARGET_TYPES
from imm_engine.naming import source_values
from imm_engine.params import Params
from imm_engine.tasktypes.base import TaskTypeSpec, require_one

#: Options this server does not implement yet: refused when set to anything but the default,
#: rather than silently ignored. (name -> the default value that is accepted)
NOT_YET: dict[str, Any] = {
    "LongPicture": False,
    "FirstPage": False,
    "FitToHeight": False,
    "FitToWidth": False,
    "PaperHorizontal": False,
    "ShowComments": False,
}
NOT_YET_VALUED = (
    "MaxSheetRow",
    "MaxSheetColumn",
    "SheetCount",
    "SheetIndex",
    "PaperSize",
    "Sources",
)

#: Sample values used to check at submit time that a template renders to a valid URI.
_SAMPLE = {
    "index": "1", "sheetname": "Sheet1", "year": "2024", "mon": "01", "day": "01",
    "hour": "00", "min": "00", "sec": "00", "t_year": "2024", "t_mon": "01", "t_day": "01",
    "t_hour": "00", "t_min": "00", "t_sec": "00",
}  # fmt: skip


def parse_job(params: Params, tags: dict[str, Any]) -> dict[str, Any]:
    source = uris.parse_object(
        params.get_str("SourceURI", required=True, max_bytes=2048) or "", "SourceURI"
    )
    source_type = _source_type(params, source)
    target_type = params.get_str("TargetType", max_bytes=16)
    if target_type is None:
        raise missing("TargetType")
    target_type = TARGET_ALIASES.get(target_type.lower(), target_type.lower())
    if target_type not in TARGET_TYPES:
        raise invalid("TargetType", f"'{target_type}' is not one of {', '.join(TARGET_TYPES)}")

    for name, default in NOT_YET.items():
        if params.get_bool(name, default) != default:
            raise invalid(name, "this option is not supported by this server yet")
    for name in NOT_YET_VALUED:
        if params.get_str(name) is not None:
            raise invalid(name, "this option is not supported by this server yet")
    params.get_json("TrimPolicy", dict)  # LibreOffice exports the used area only: see docs.

    if params.get_str("Pages") is not None:
        selection = pages.parse_pages(params.get_str("Pages", max_bytes=4096) or "")
    else:
        selection = pages.from_start_end(
            params.get_int("StartPage", lo=-(2**31), hi=2**31),
            params.get_int("EndPage", lo=-(2**31), hi=2**31),
        )
    long_text = params.get_bool("LongText")
    single_output = target_type == "pdf" or (target_type == "txt" and long_text)
    job: dict[str, Any] = {
        "source": str(source),
        "source_type": source_type,
        "target_type": target_type,
        "pages": pages.to_dict(selection if target_type != "pdf" else pages.ALL),
        "dpi": params.get_int("ImageDPI", lo=96, hi=600) or 96,
        "quality": params.get_int("Quality", lo=0, hi=100),
        "scale": params.get_int("ScalePercentage", lo=20, hi=200) or 100,
        "password": params.get_str("Password", max_bytes=512) or "",
        "long_text": long_text,
        "hold_line_feed": params.get_bool("HoldLineFeed"),
    }

    which = require_one(params, "TargetURI", "TargetURIPrefix")
    if which == "TargetURI":
        text = params.get_str("TargetURI", max_bytes=4096) or ""
        template = templates.parse(text, "TargetURI")
        templates.check(template, templates.OFFICE_VARIABLES, tags, "TargetURI")
        if not single_output and "index" not in template.variables and not selection.single_page:
            raise invalid(
                "TargetURI",
                f"{target_type} output writes one object per page, so the template needs {{index}}",
            )
        sample = {**_SAMPLE, **source_values(source), "autoext": target_type}
        templates.render_uri(template, sample, tags, "TargetURI")
        job["target_template"] = text
    else:
        prefix = uris.parse_prefix(
            params.get_str("TargetURIPrefix", max_bytes=2048) or "", "TargetURIPrefix"
        )
        # The names the prefix leads to must be valid keys too (a 1020-byte prefix is not).
        first = "1" if not single_output else source.barename
        uris.parse_object(f"{prefix}{first}.{target_type}", "TargetURIPrefix")
        job["target_prefix"] = str(prefix)
    return job


def _source_type(params: Params, source: uris.OssUri) -> str:
    declared = params.get_str("SourceType", max_bytes=16)
    kind = (declared or source.ext).lower()
    if not kind:
        raise invalid("SourceType", f"{source} has no extension; set SourceType")
    if kind not in SOURCE_TYPES:
        name = "SourceType" if declared else "SourceURI"
        raise invalid(
            name,
            f"source type '{kind}' is not supported; supported: {', '.join(sorted(SOURCE_TYPES))}",
        )
    return kind


SPEC = TaskTypeSpec(
    task_type="OfficeConversion",
    action="CreateOfficeConversionTask",
    queue="office",
    parse_job=parse_job,
)
