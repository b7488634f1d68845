"""IMM task types: what each Create*Task action accepts, validated before anything is queued.

A task type is a module with a `SPEC`; adding one means adding a module here and a processor
in `workers/processors/`, and listing it in `TASK_TYPES`.
"""

from __future__ import annotations

from imm_engine.tasktypes import (
    archive_inspection,
    file_compression,
    file_uncompression,
    image_splicing,
    image_to_pdf,
    media_convert,
    office_conversion,
)
from imm_engine.tasktypes.base import Submission, SubmitContext, TaskTypeSpec

TASK_TYPES: tuple[TaskTypeSpec, ...] = (office_conversion.SPEC,)
TASK_TYPES += (
    image_to_pdf.SPEC,
    file_compression.SPEC,
    file_uncompression.SPEC,
    archive_inspection.SPEC,
    image_splicing.SPEC,
    media_convert.SPEC,
)

BY_ACTION = {spec.action: spec for spec in TASK_TYPES}
BY_TYPE = {spec.task_type: spec for spec in TASK_TYPES}

__all__ = ["BY_ACTION", "BY_TYPE", "TASK_TYPES", "Submission", "SubmitContext", "TaskTypeSpec"]
