"""CreateImageSplicingTask: stitch images top to bottom or left to right into one image."""

from __future__ import annotations

import re
from typing import Any

from PIL import ImageColor

from imm_engine.api.params import Params
from imm_engine.errors import invalid
from imm_engine.tasktypes.common import image_sources, target_object
from imm_engine.tasktypes.declaration import TaskType
from imm_engine.tasktypes.job import DictJob

MAX_IMAGES = 100
FORMATS = frozenset({"jpg", "jpeg", "png"})
OUTPUT_FORMATS = ("jpg", "png", "webp")
DIRECTIONS = ("vertical", "horizontal")
SCALE_TYPES = ("fit", "stretch")
MAX_SPACING = 4096
#: Colour keywords (CSS names) and the `alpha` keyword (transparent; png and webp only).
_HEX = re.compile(r"^#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})$")
_NAME = re.compile(r"^[A-Za-z]{3,24}$")


def parse_job(params: Params, tags: dict[str, Any]) -> dict[str, Any]:
    direction = _choice(params, "Direction", DIRECTIONS)
    image_format = _choice(params, "ImageFormat", OUTPUT_FORMATS, aliases={"jpeg": "jpg"})
    background = params.get_str("BackgroundColor", max_bytes=32) or "#FFFFFF"
    if not (_HEX.match(background) or _NAME.match(background)) or not _known(background):
        raise invalid("BackgroundColor", f"'{background}' is not #RRGGBB or a colour name")
    if background.lower() == "alpha" and image_format == "jpg":
        raise invalid("BackgroundColor", "alpha (transparent) needs ImageFormat png or webp")
    quality = params.get_int("Quality", lo=0, hi=100)
    return {
        "sources": image_sources(params, max_items=MAX_IMAGES, formats=FORMATS),
        "target": target_object(params),
        "direction": direction,
        "image_format": image_format,
        "quality": 80 if quality is None else quality,
        "scale_type": _choice(params, "ScaleType", SCALE_TYPES),
        "align": params.get_int("Align", lo=1, hi=4096),
        "margin": params.get_int("Margin", lo=0, hi=MAX_SPACING) or 0,
        "padding": params.get_int("Padding", lo=0, hi=MAX_SPACING) or 0,
        "background": background,
    }


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


def _parse(params: Params, tags: dict[str, Any]) -> DictJob:
    return DictJob(parse_job(params, tags))


TASK_TYPE = TaskType(
    name="ImageSplicing",
    action="CreateImageSplicingTask",
    queue="files",
    job=DictJob,
    parse=_parse,
)
