"""CreateOfficeConversionTask: Word, PowerPoint, Excel and PDF to png, jpg, pdf or txt."""

from __future__ import annotations

from typing import Any

from imm_engine.api.params import Params
from imm_engine.errors import invalid, missing
from imm_engine.targets import templates, uris
from imm_engine.targets.naming import source_values
from imm_engine.tasktypes.base import require_one
from imm_engine.tasktypes.declaration import TaskType
from imm_engine.tasktypes.job import DictJob
from imm_engine.tasktypes.office import options as office_options
from imm_engine.tasktypes.office import pages
from imm_engine.tasktypes.office.formats import SOURCE_TYPES, TARGET_ALIASES, TARGET_TYPES

#: Sample values used to check at submit time that a template renders to a valid URI.
_SAMPLE = {
    "index": "1", "sheetname": "Sheet1", "year": "2024", "mon": "01", "day": "01",
    "hour": "00", "min": "00", "sec": "00", "t_year": "2024", "t_mon": "01", "t_day": "01",
    "t_hour": "00", "t_min": "00", "t_sec": "00",
}  # fmt: skip


def parse_job(params: Params, tags: dict[str, Any]) -> dict[str, Any]:
    sources = office_options.parse_sources(params)
    if sources is not None:
        if params.get_str("SourceURI") is not None:
            raise invalid("Sources", "give either SourceURI or Sources, not both")
        if params.get_str("SourceType") is not None:
            raise invalid("SourceType", "it does not apply to Sources (images)")
        source = uris.parse_object(sources[0]["URI"], "Sources")
        source_type = "pdf"  # the images become the pages of one PDF
    else:
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

    family = SOURCE_TYPES[source_type]
    if sources is not None and target_type == "txt":
        raise invalid("TargetType", "Sources are images: they have no text (txt needs OCR)")
    options = office_options.parse_render_options(params, family=family, target_type=target_type)

    if params.get_str("Pages") is not None:
        selection = pages.parse_pages(params.get_str("Pages", max_bytes=4096) or "")
    else:
        selection = pages.from_start_end(
            params.get_int("StartPage", lo=-(2**31), hi=2**31),
            params.get_int("EndPage", lo=-(2**31), hi=2**31),
        )
    long_text = params.get_bool("LongText")
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
        **options,
    }
    if sources is not None:
        job["sources"] = sources
    single_output = office_options.single_output(job, family)

    which = require_one(params, "TargetURI", "TargetURIPrefix")
    if which == "TargetURI":
        text = params.get_str("TargetURI", max_bytes=4096) or ""
        template = templates.parse(text, "TargetURI")
        templates.check(template, templates.OFFICE_VARIABLES, tags, "TargetURI")
        per_sheet_names = job.get("long_picture") and "sheetname" in template.variables
        if (
            not single_output
            and "index" not in template.variables
            and not selection.single_page
            and not per_sheet_names
        ):
            raise invalid(
                "TargetURI",
                f"{target_type} output writes one object per page (per sheet with "
                "LongPicture), so the template needs {index}",
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


def _parse(params: Params, tags: dict[str, Any]) -> DictJob:
    return DictJob(parse_job(params, tags))


TASK_TYPE = TaskType(
    name="OfficeConversion",
    action="CreateOfficeConversionTask",
    queue="office",
    job=DictJob,
    parse=_parse,
)
