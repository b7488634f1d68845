"""OfficeConversion's typed job (imm_engine/tasktypes/office_conversion.py `OfficeJob`): the
record it writes, the records it reads (format 1 included), what it reads and writes for the
grant checks, and its metric labels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from imm_engine.api.params import Params
from imm_engine.tasktypes.office.options import SheetOptions
from imm_engine.tasktypes.office_conversion import TASK_TYPE, OfficeJob, parse_job

STATE = Path(__file__).resolve().parents[1] / "fixtures" / "format_v1" / "state.json"


def captured_office_jobs() -> list[dict[str, Any]]:
    """The office jobs of the records captured from format 1."""
    captured = json.loads(STATE.read_text(encoding="utf-8"))
    jobs = []
    for entry in captured["keys"]:
        value = entry["value"]
        if entry["type"] == "hash" and value.get("task_type") == "OfficeConversion":
            jobs.append(json.loads(value["job"]))
    return jobs


def job_of(**values: str) -> OfficeJob:
    return parse_job(Params({"ProjectName": "p", **values}.items()), {})


def test_format_1_records_read_unchanged() -> None:
    jobs = captured_office_jobs()
    assert len(jobs) == 2
    for stored in jobs:
        job = TASK_TYPE.read_job(stored)
        assert job.source == stored["source"] and job.target_type == stored["target_type"]
        assert job.target_template == stored["target_template"] and job.target_prefix is None
        assert (job.dpi, job.scale, job.quality, job.password) == (96, 100, None, "")
        assert job.selection.everything
        # What it writes back holds the same values (a None is left out, as for every job).
        assert job.to_record() | {"quality": None} == stored | {
            "long_picture": False,
            "first_page": False,
            "show_comments": False,
        }


@pytest.mark.parametrize(
    "values",
    [
        {"SourceURI": "oss://b-1/a.docx", "TargetType": "png", "TargetURIPrefix": "oss://b-1/o/"},
        {"SourceURI": "oss://b-1/a.xlsx", "TargetType": "png", "SheetIndex": "2",
         "PaperSize": "a3", "FitToWidth": "true", "TargetURI": "oss://b-1/o/{index}.png"},
        {"SourceURI": "oss://b-1/a.pptx", "TargetType": "jpg", "Pages": "1,3-4", "Quality": "70",
         "LongPicture": "true", "ShowComments": "true", "TargetURI": "oss://b-1/o/x.jpg"},
        {"Sources": '[{"URI": "oss://b-1/a.png"}, {"URI": "oss://b-2/b.jpg", "Rotate": 90}]',
         "TargetType": "pdf", "TargetURI": "oss://{bucket}/o/{barename}.pdf"},
    ],
)  # fmt: skip
def test_jobs_round_trip_through_the_record(values: dict[str, str]) -> None:
    job = job_of(**values)
    record = json.loads(json.dumps(job.to_record()))
    assert OfficeJob.from_record(record) == job


def test_sheet_options_are_stored_as_set() -> None:
    job = job_of(
        SourceURI="oss://b-1/a.xlsx",
        TargetType="png",
        SheetIndex="2",
        FitToWidth="true",
        TargetURI="oss://b-1/o/{index}.png",
    )
    assert job.sheet == SheetOptions(index=2, fit_width=True)
    assert job.to_record()["sheet"] == {"index": 2, "fit_width": True}
    assert "sheet" not in job_of(SourceURI="oss://b-1/a.xlsx", TargetType="png",
                                 TargetURI="oss://b-1/o/{index}.png").to_record()  # fmt: skip


def test_a_newer_release_record_reads() -> None:
    """Keys a later release adds (in the job or its sheet options) are ignored."""
    job = OfficeJob.from_record(
        {"source": "oss://b/a.xlsx", "source_type": "xlsx", "target_type": "png",
         "sheet": {"count": 2, "zoom": 3}, "watermark": "x"}
    )  # fmt: skip
    assert job.sheet == SheetOptions(count=2)
    assert job.pages == [[1, None]]


def test_2017_fields_round_trip() -> None:
    job = OfficeJob(
        source="oss://b/a.docx",
        source_type="docx",
        target_type="png",
        target_prefix="oss://b/o/",
        page_index="document",
        legacy2017={"SrcUri": "oss://b/a.docx", "TgtType": "png"},
    )
    record = job.to_record()
    assert record["page_index"] == "document"
    assert record["legacy2017"] == {"SrcUri": "oss://b/a.docx", "TgtType": "png"}
    assert OfficeJob.from_record(record) == job


def test_sources_are_read() -> None:
    job = job_of(
        Sources='[{"URI": "oss://b-1/a.png"}, {"URI": "oss://b-2/b.jpg", "Rotate": 90}]',
        TargetType="pdf",
        TargetURI="oss://{bucket}/o/{barename}.pdf",
    )
    # The first image is also the task's source (what names the outputs).
    assert job.reads() == ["oss://b-1/a.png", "oss://b-1/a.png", "oss://b-2/b.jpg"]
    assert job.writes() == ["oss://b-1/a.png"]


@pytest.mark.parametrize(
    ("job", "labels"),
    [
        ({"source_type": "docx", "target_type": "pdf"}, ("word", "pdf")),
        ({"source_type": "xlsx", "target_type": "png"}, ("spreadsheet", "png")),
        ({"source_type": "pptx", "target_type": "jpg"}, ("presentation", "jpg")),
        ({"source_type": "pdf", "target_type": "txt"}, ("pdf", "txt")),
        ({"source_type": "epub", "target_type": "pdf"}, ("ebook", "pdf")),
        ({"source_type": "py", "target_type": "pdf"}, ("text", "pdf")),
        ({"source_type": "txt", "target_type": "pdf"}, ("word", "pdf")),
        ({"sources": [{}], "source_type": "pdf", "target_type": "pdf"}, ("image", "pdf")),
        ({"source_type": "weird", "target_type": "svg"}, ("other", "other")),
    ],
)
def test_metric_labels(job: dict[str, Any], labels: tuple[str, str]) -> None:
    assert OfficeJob.from_record({"source": "oss://b/x", **job}).metric_labels() == labels
