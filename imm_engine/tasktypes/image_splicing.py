"""CreateImageSplicingTask: stitch images top to bottom or left to right into one image."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from PIL import ImageColor

from imm_engine.api.params import Params
from imm_engine.errors import invalid
from imm_engine.metrics.labels import bounded
from imm_engine.tasktypes.common import image_sources, target_object
from imm_engine.tasktypes.declaration import TaskType
from imm_engine.tasktypes.job import Job

MAX_IMAGES = 100
FORMATS = frozenset({"jpg", "jpeg", "png"})
OUTPUT_FORMATS = ("jpg", "png", "webp")
DIRECTIONS = ("vertical", "horizontal")
SCALE_TYPES = ("fit", "stretch")
MAX_SPACING = 4096
MAX_ALIGN = 4096
#: Colour keywords (CSS names) and the `alpha` keyword (transparent; png and webp only).
_HEX = re.compile(r"^#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})$")
_NAME = re.compile(r"^[A-Za-z]{3,24}$")


@dataclass(frozen=True)
class ImageSplicingJob(Job):
    #: `[{"URI": "oss://...", "Rotate": 0|90|180|270}, ...]`, in order.
    sources: list[dict[str, Any]]
    target: str
    direction: str
    #: jpg, png or webp.
    image_format: str
    quality: int
    scale_type: str
    margin: int
    padding: int
    #: `#RRGGBB`-like, a colour name, or `alpha`.
    background: str
    #: The aligned width (vertical) or height (horizontal); None: the first image's.
    align: int | None = None

    def reads(self) -> list[str]:
        return [s["URI"] for s in self.sources]

    def writes(self) -> list[str]:
        return [self.target]

    def metric_labels(self) -> tuple[str, str]:
        return "", bounded(self.image_format, OUTPUT_FORMATS)


def parse_job(params: Params, tags: dict[str, Any]) -> ImageSplicingJob:
    direction = _choice(params, "Direction", DIRECTIONS)
    image_format = _choice(params, "ImageFormat", OUTPUT_FORMATS, aliases={"jpeg": "jpg"})
    background = params.get_str("BackgroundColor", max_bytes=32) or "#FFFFFF"
    if not (_HEX.match(background) or _NAME.match(background)) or not _known(background):
        raise invalid("BackgroundColor", f"'{background}' is not #RRGGBB or a colour name")
    if background.lower() == "alpha" and image_format == "jpg":
        raise invalid("BackgroundColor", "alpha (transparent) needs ImageFormat png or webp")
    quality = params.get_int("Quality", lo=0, hi=100)
    return ImageSplicingJob(
        sources=image_sources(params, max_items=MAX_IMAGES, formats=FORMATS),
        target=target_object(params) or "",
        direction=direction,
        image_format=image_format,
        quality=80 if quality is None else quality,
        scale_type=_choice(params, "ScaleType", SCALE_TYPES),
        align=params.get_int("Align", lo=1, hi=MAX_ALIGN),
        margin=params.get_int("Margin", lo=0, hi=MAX_SPACING) or 0,
        padding=params.get_int("Padding", lo=0, hi=MAX_SPACING) or 0,
        background=background,
    )


def _known(colour: str) -> bool:
    if colour.lower() == "alpha":
        return True
    try:
        ImageColor.getrgb(colour)
    except ValueError:
        return False
    return True


def _choice(
    params: Params, name: str, options: tuple[str, ...], aliases: dict[str, str] | None = None
) -> str:
    value = (params.get_str(name, max_bytes=32) or options[0]).lower()
    value = (aliases or {}).get(value, value)
    if value not in options:
        raise invalid(name, f"'{value}' is not one of {', '.join(options)}")
    return value


TASK_TYPE = TaskType(
    name="ImageSplicing",
    action="CreateImageSplicingTask",
    queue="files",
    job=ImageSplicingJob,
    parse=parse_job,
    limits={
        "Sources": MAX_IMAGES,
        "Align": MAX_ALIGN,
        "Margin": MAX_SPACING,
        "Padding": MAX_SPACING,
    },
)
