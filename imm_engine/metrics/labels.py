"""Label values of the metrics (pure). Every value comes from a closed set, so no label can
grow with traffic: never a TaskId, a URI or a client-chosen string."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from imm_engine.tasktypes.office.formats import PLAIN_TEXT_TYPES, SOURCE_TYPES, TARGET_TYPES

#: MediaConvert containers (imm_engine/tasktypes/media_convert.py CONTAINERS).
MEDIA_CONTAINERS = frozenset(
    {"mp4", "mkv", "mov", "ts", "flv", "mp3", "aac", "flac", "oga", "opus"}
)
IMAGE_FORMATS = frozenset({"jpg", "png", "webp"})
OTHER = "other"


def bounded(value: object, allowed: Iterable[str]) -> str:
    """`value` if it is one of `allowed`, else "other"."""
    text = str(value) if value is not None else ""
    return text if text in set(allowed) else OTHER


def source_family(task_type: str, job: Mapping[str, Any]) -> str:
    """What kind of document a task reads: word, presentation, spreadsheet, pdf, ebook, text,
    image (OfficeConversion of images), or "" for the other task types."""
    if task_type != "OfficeConversion":
        return ""
    if job.get("sources"):
        return "image"
    source_type = str(job.get("source_type", "")).lower()
    if source_type in PLAIN_TEXT_TYPES and source_type != "txt":
        return "text"
    family = SOURCE_TYPES.get(source_type)
    return str(family) if family is not None else OTHER


def target_format(task_type: str, job: Mapping[str, Any]) -> str:
    """What a task writes: the TargetType of OfficeConversion (pdf, png, jpg, txt), the first
    Container of MediaConvert, the ImageFormat of ImageSplicing, and a fixed value for the
    task types with one output format ("" when a task writes no file)."""
    if task_type == "OfficeConversion":
        return bounded(job.get("target_type"), TARGET_TYPES)
    if task_type == "MediaConvert":
        targets = job.get("targets") or [{}]
        first = targets[0] if isinstance(targets[0], Mapping) else {}
        return bounded(first.get("Container"), MEDIA_CONTAINERS)
    if task_type == "ImageSplicing":
        return bounded(job.get("image_format"), IMAGE_FORMATS)
    return {"ImageToPDF": "pdf", "FileCompression": "zip"}.get(task_type, "")


def action(name: str, known: Iterable[str]) -> str:
    """An API action label: the action if the API knows it, else "other"."""
    return bounded(name, known)


def error_code(code: str) -> str:
    """A task's Code (a fixed vocabulary of imm-engine's own codes), at most 64 characters."""
    return code[:64]
