"""CreateImageToPDFTask: up to 100 images, in order, each optionally rotated, into one PDF."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imm_engine.api.params import Params
from imm_engine.tasktypes.common import image_sources, target_object
from imm_engine.tasktypes.declaration import TaskType
from imm_engine.tasktypes.job import Job

MAX_IMAGES = 100
FORMATS = frozenset({"jpg", "jpeg", "jp2", "png", "tif", "tiff", "webp", "bmp", "svg"})


@dataclass(frozen=True)
class ImageToPDFJob(Job):
    #: `[{"URI": "oss://...", "Rotate": 0|90|180|270}, ...]`, in page order.
    sources: list[dict[str, Any]]
    target: str

    def reads(self) -> list[str]:
        return [s["URI"] for s in self.sources]

    def writes(self) -> list[str]:
        return [self.target]

    def metric_labels(self) -> tuple[str, str]:
        return "", "pdf"


def parse_job(params: Params, tags: dict[str, Any]) -> ImageToPDFJob:
    return ImageToPDFJob(
        sources=image_sources(params, max_items=MAX_IMAGES, formats=FORMATS),
        target=target_object(params) or "",
    )


TASK_TYPE = TaskType(
    name="ImageToPDF",
    action="CreateImageToPDFTask",
    queue="files",
    job=ImageToPDFJob,
    parse=parse_job,
    limits={"Sources": MAX_IMAGES},
)
