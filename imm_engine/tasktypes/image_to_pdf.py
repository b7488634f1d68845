"""CreateImageToPDFTask: up to 100 images, in order, each optionally rotated, into one PDF."""

from __future__ import annotations

from typing import Any

from imm_engine.api.params import Params
from imm_engine.tasktypes.base import TaskTypeSpec
from imm_engine.tasktypes.common import image_sources, target_object

MAX_IMAGES = 100
FORMATS = frozenset({"jpg", "jpeg", "jp2", "png", "tif", "tiff", "webp", "bmp", "svg"})


def parse_job(params: Params, tags: dict[str, Any]) -> dict[str, Any]:
    return {
        "sources": image_sources(params, max_items=MAX_IMAGES, formats=FORMATS),
        "target": target_object(params),
    }


SPEC = TaskTypeSpec(
    task_type="ImageToPDF",
    action="CreateImageToPDFTask",
    queue="files",
    parse_job=parse_job,
)
