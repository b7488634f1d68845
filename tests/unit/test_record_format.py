"""Record formats (imm_engine/models.py): older records are migrated forward, newer ones are
read as far as this release knows them, and what this release writes names its format."""

from __future__ import annotations

import json

import pytest

from imm_engine.models import RECORD_FORMAT, TaskRecord, migrated
from imm_engine.tasktypes import BY_TYPE
from imm_engine.tasktypes.job import UnreadableJob
from workers import runner

V1 = {  # a record as the first release wrote it (tests/fixtures/format_v1 has whole ones)
    "project": "p", "task_type": "ImageToPDF", "task_id": "ImageToPDF-1", "request_id": "R",
    "event_id": "E", "start_ts": "1.5", "status": "Running", "progress": "0",
    "job": json.dumps({"sources": [{"URI": "oss://b/1.png", "Rotate": 0}],
                       "target": "oss://b/o.pdf"}),
}  # fmt: skip


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        pytest.param({}, str(RECORD_FORMAT), id="no-format-is-1"),
        pytest.param({"format": "1"}, str(RECORD_FORMAT), id="format-1"),
        pytest.param({"format": str(RECORD_FORMAT)}, str(RECORD_FORMAT), id="current"),
        pytest.param({"format": "99"}, "99", id="newer-kept"),
    ],
)
def test_migrated_format(stored: dict[str, str], expected: str) -> None:
    assert migrated({**V1, **stored})["format"] == expected


def test_a_format_1_record_reads_with_its_typed_job() -> None:
    rec = TaskRecord.from_fields(dict(V1))
    assert rec.format == RECORD_FORMAT
    job = BY_TYPE[rec.task_type].read_job(rec.job)
    assert job.reads() == ["oss://b/1.png"] and job.writes() == ["oss://b/o.pdf"]


def test_a_newer_record_reads_as_far_as_known() -> None:
    newer = {**V1, "format": "3", "added_later": "x",
             "job": json.dumps({**json.loads(V1["job"]), "added_later": 1})}  # fmt: skip
    rec = TaskRecord.from_fields(newer)
    assert rec.format == 3
    assert BY_TYPE[rec.task_type].read_job(rec.job).to_record() == json.loads(V1["job"])


def test_this_release_writes_its_format() -> None:
    rec = TaskRecord("p", "ImageToPDF", "t", "r", "e", 1.0)
    assert rec.to_fields()["format"] == str(RECORD_FORMAT)
    assert TaskRecord.from_fields(rec.to_fields()) == rec


def test_a_damaged_job_is_reported_not_raised_where_a_run_finishes() -> None:
    """A record whose job lacks a required field: reading it says so (the run fails
    InternalError), and finishing it still works (labels "other", not a 2017 task)."""
    rec = TaskRecord("p", "OfficeConversion", "t", "r", "e", 1.0, job={"source": "oss://b/x"})
    with pytest.raises(UnreadableJob):
        BY_TYPE[rec.task_type].read_job(rec.job)
    assert runner.job_labels(rec) == ("other", "other")
    assert runner.created_by_2017(rec) is False
