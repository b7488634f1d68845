"""The task-type registry: every declared task type has a processor, a Celery task and a
queue, and the declarations are complete (imm_engine/tasktypes/declaration.py)."""

from __future__ import annotations

import dataclasses

import pytest

from imm_engine.broker import task_name
from imm_engine.tasktypes import BY_ACTION, BY_TYPE, TASK_TYPES, Job
from workers.processors import discover


def test_every_task_type_has_one_processor_and_no_processor_is_orphaned() -> None:
    processors = discover()
    assert set(processors) == set(BY_TYPE)
    for name, processor in processors.items():
        assert processor.task_type is BY_TYPE[name]


def test_the_actions_of_the_declared_task_types() -> None:
    assert {t.action: t.name for t in TASK_TYPES} == {
        "CreateOfficeConversionTask": "OfficeConversion",
        "CreateImageToPDFTask": "ImageToPDF",
        "CreateFileCompressionTask": "FileCompression",
        "CreateFileUncompressionTask": "FileUncompression",
        "CreateArchiveFileInspectionTask": "ArchiveFileInspection",
        "CreateImageSplicingTask": "ImageSplicing",
        "CreateMediaConvertTask": "MediaConvert",
    }
    assert len(BY_TYPE) == len(BY_ACTION) == len(TASK_TYPES)
    assert all(task_name(t.name) == f"imm.{t.name}" for t in TASK_TYPES)


@pytest.mark.parametrize("declared", TASK_TYPES, ids=[t.name for t in TASK_TYPES])
def test_each_job_is_a_frozen_job_dataclass(declared: object) -> None:
    job = declared.job  # type: ignore[attr-defined]
    assert issubclass(job, Job) and dataclasses.is_dataclass(job)
    assert job.__dataclass_params__.frozen  # type: ignore[attr-defined]
