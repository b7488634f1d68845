"""CreateOfficeConversionTask: Word, PowerPoint, Excel and PDF to png, jpg, pdf or txt."""

from __future__ import annotations

import dataclasses
from typing import Any

from imm_engine.api.params import Params
from imm_engine.errors import invalid, missing
from imm_engine.metrics.labels import OTHER, bounded
from imm_engine.targets import templates, uris
from imm_engine.targets.naming import source_values
from imm_engine.tasktypes.base import require_one
from imm_engine.tasktypes.declaration import TaskType
from imm_engine.tasktypes.job import Job, template_target, uri_of
from imm_engine.tasktypes.office import options as office_options
from imm_engine.tasktypes.office import pages as page_selection
from imm_engine.tasktypes.office.formats import (
    PLAIN_TEXT_TYPES,
    SOURCE_TYPES,
    TARGET_ALIASES,
    TARGET_TYPES,
    Family,
)
from imm_engine.tasktypes.office.options import SheetOptions, sheet_range

#: Sample values used to check at submit time that a template renders to a valid URI.
_SAMPLE = {
    "index": "1", "sheetname": "Sheet1", "year": "2024", "mon": "01", "day": "01",
    "hour": "00", "min": "00", "sec": "00", "t_year": "2024", "t_mon": "01", "t_day": "01",
    "t_hour": "00", "t_min": "00", "t_sec": "00",
}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class OfficeJob(Job):
    """A validated OfficeConversion; field names are the record's keys since format 1."""

    source: str
    #: A key of SOURCE_TYPES ("pdf" when `sources` are given: the images become one PDF).
    source_type: str
    #: One of TARGET_TYPES.
    target_type: str
    #: `page_selection.to_dict` of the selection (every page for pdf targets); see `selection`.
    pages: list[list[int | None]] = dataclasses.field(
        default_factory=lambda: page_selection.to_dict(page_selection.ALL)
    )
    dpi: int = 96
    quality: int | None = None
    #: `ScalePercentage`.
    scale: int = 100
    password: str = ""
    long_text: bool = False
    hold_line_feed: bool = False
    # The rendering options (imm_engine/tasktypes/office/options.py).
    long_picture: bool = False
    first_page: bool = False
    show_comments: bool = False
    sheet: SheetOptions | None = None
    #: `Sources`: `[{"URI": "oss://...", "Rotate": 0|90|180|270}, ...]`, images in page order.
    sources: list[dict[str, Any]] | None = None
    #: Exactly one of the two: a `TargetURI` template or a `TargetURIPrefix`.
    target_template: str | None = None
    target_prefix: str | None = None
    #: "document" (2017 tasks): outputs are numbered by their page in the document, sheets too.
    page_index: str | None = None
    #: 2017 tasks: the request's fields their answers echo (office_2017.ECHOED).
    legacy2017: dict[str, str] | None = None

    def to_record(self) -> dict[str, Any]:
        record = super().to_record()
        if self.sheet is not None:
            record["sheet"] = self.sheet.to_record()
        return record

    @property
    def family(self) -> Family:
        return SOURCE_TYPES[self.source_type]

    @property
    def selection(self) -> page_selection.PageSelection:
        return page_selection.from_dict(self.pages)

    @property
    def sheet_options(self) -> SheetOptions:
        """The sheet options (none set for the other sources)."""
        return self.sheet or SheetOptions()

    def single_output(self) -> bool:
        """Whether the task writes exactly one object (then a TargetURI needs no `{index}`)."""
        if self.target_type == "pdf":
            return True
        if self.target_type == "txt":
            return self.long_text or self.family == Family.SPREADSHEET
        if self.first_page:
            return True
        if self.long_picture:
            if self.family != Family.SPREADSHEET:
                return True
            _, count = sheet_range(self.sheet_options)
            return count == 1
        return False

    def reads(self) -> list[str]:
        found = [self.source, *(uri_of(s) for s in self.sources or ())]
        return [u for u in found if u]

    def writes(self) -> list[str]:
        found = [self.target_prefix] if self.target_prefix is not None else []
        return found + template_target(self.target_template, self.source)

    def metric_labels(self) -> tuple[str, str]:
        target = bounded(self.target_type, TARGET_TYPES)
        if self.sources:
            return "image", target
        source_type = self.source_type.lower()
        if source_type in PLAIN_TEXT_TYPES and source_type != "txt":
            return "text", target
        family = SOURCE_TYPES.get(source_type)
        return (str(family) if family is not None else OTHER), target


def parse_job(params: Params, tags: dict[str, Any]) -> OfficeJob:
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
        selection = page_selection.parse_pages(params.get_str("Pages", max_bytes=4096) or "")
    else:
        selection = page_selection.from_start_end(
            params.get_int("StartPage", lo=-(2**31), hi=2**31),
            params.get_int("EndPage", lo=-(2**31), hi=2**31),
        )
    long_text = params.get_bool("LongText")
    job = OfficeJob(
        source=str(source),
        source_type=source_type,
        target_type=target_type,
        pages=page_selection.to_dict(selection if target_type != "pdf" else page_selection.ALL),
        dpi=params.get_int("ImageDPI", lo=96, hi=600) or 96,
        quality=params.get_int("Quality", lo=0, hi=100),
        scale=params.get_int("ScalePercentage", lo=20, hi=200) or 100,
        password=params.get_str("Password", max_bytes=512) or "",
        long_text=long_text,
        hold_line_feed=params.get_bool("HoldLineFeed"),
        long_picture=options.long_picture,
        first_page=options.first_page,
        show_comments=options.show_comments,
        sheet=options.sheet,
        sources=sources,
    )
    single_output = job.single_output()

    which = require_one(params, "TargetURI", "TargetURIPrefix")
    if which == "TargetURI":
        text = params.get_str("TargetURI", max_bytes=4096) or ""
        template = templates.parse(text, "TargetURI")
        templates.check(template, templates.OFFICE_VARIABLES, tags, "TargetURI")
        per_sheet_names = job.long_picture and "sheetname" in template.variables
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
        return dataclasses.replace(job, target_template=text)
    prefix = uris.parse_prefix(
        params.get_str("TargetURIPrefix", max_bytes=2048) or "", "TargetURIPrefix"
    )
    # The names the prefix leads to must be valid keys too (a 1020-byte prefix is not).
    first = "1" if not single_output else source.barename
    uris.parse_object(f"{prefix}{first}.{target_type}", "TargetURIPrefix")
    return dataclasses.replace(job, target_prefix=str(prefix))


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


TASK_TYPE = TaskType(
    name="OfficeConversion",
    action="CreateOfficeConversionTask",
    queue="office",
    job=OfficeJob,
    parse=parse_job,
)
