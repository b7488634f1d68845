"""Which URIs a job reads and writes (each task type's `Job.reads`/`writes`, for the grant
checks), and the record's role."""

from __future__ import annotations

from typing import Any

import pytest

from imm_engine.api.actions import notification_writes
from imm_engine.models import TaskRecord
from imm_engine.tasktypes import BY_TYPE as DECLARED

SRC = "oss://in-bkt/a/b.docx"
#: What every office job holds besides its source and target.
OFFICE = {"source_type": "docx", "target_type": "png"}

CASES = [
    pytest.param({"source": SRC, "target_prefix": "oss://out-bkt/x/"}, {},
                 [SRC], ["oss://out-bkt/x/"], id="prefix"),
    pytest.param({"source": SRC, "target_template": "oss://out-bkt/{barename}/{index}.png"}, {},
                 [SRC], ["oss://out-bkt/{barename}/{index}.png"], id="static-template"),
    pytest.param({"source": SRC, "target_template": "oss://{bucket}/out/{index}.png"}, {},
                 [SRC], [SRC], id="template-in-source-bucket"),
    pytest.param({"source": SRC, "target_template": "oss://{tags.b}/out/{index}.png"}, {},
                 [SRC], [], id="bucket-known-only-at-run-time"),
    pytest.param({"source": SRC, "target_template": "oss://x-{tags.b}/o.pdf"}, {},
                 [SRC], [], id="partly-variable-bucket"),
    pytest.param({"source": SRC, "target_prefix": "oss://o/"},
                 {"ExtendedMessageURI": "oss://msg-bkt/m.json"},
                 [SRC], ["oss://o/", "oss://msg-bkt/m.json"], id="extended-message"),
]  # fmt: skip


#: One job of every task type, as its parse_job builds it, with what it reads and writes.
BY_TYPE = {
    "OfficeConversion": (
        {**OFFICE, "source": SRC, "target_prefix": "oss://o/"}, [SRC], ["oss://o/"]
    ),
    "ImageToPDF": (
        {"sources": [{"URI": "oss://i/1.png", "Rotate": 0}, {"URI": "oss://j/2.jpg"}],
         "target": "oss://o/x.pdf"},
        ["oss://i/1.png", "oss://j/2.jpg"], ["oss://o/x.pdf"],
    ),
    "ImageSplicing": (
        {"sources": [{"URI": "oss://i/1.png"}], "target": "oss://o/s.jpg",
         "direction": "vertical", "image_format": "jpg", "quality": 80, "scale_type": "fit",
         "margin": 0, "padding": 0, "background": "#FFFFFF"},
        ["oss://i/1.png"], ["oss://o/s.jpg"],
    ),
    "FileCompression": (
        {"format": "zip", "target": "oss://o/a.zip",
         "rules": [{"bucket": "i", "key": "dir/", "mode": "prefix", "alias": ""}]},
        ["oss://i/dir/"], ["oss://o/a.zip"],
    ),
    "FileUncompression": (
        {"source": "oss://i/a.zip", "target_prefix": "oss://o/a/"},
        ["oss://i/a.zip"], ["oss://o/a/"],
    ),
    "ArchiveFileInspection": ({"source": "oss://i/a.zip", "password": ""}, ["oss://i/a.zip"], []),
    "MediaConvert": (
        {"source": {"URI": "oss://i/v.mov"},
         "targets": [{"URI": "oss://o/{barename}.mp4", "Container": "mp4",
                      "Snapshots": [{"URI": "oss://{bucket}/snap/{index}.jpg"},
                                    {"URI": "oss://{tags.b}/s.jpg"}]}]},
        ["oss://i/v.mov"], ["oss://o/{barename}.mp4", "oss://i/v.mov"],
    ),
}  # fmt: skip
MANIFEST = ({"format": "zip", "target": "oss://o/a.zip", "manifest": "oss://m/list.json"},
            ["oss://m/list.json"], ["oss://o/a.zip"])  # fmt: skip


def test_every_task_type_is_covered() -> None:
    assert set(DECLARED) == set(BY_TYPE)


@pytest.mark.parametrize(
    ("task_type", "job", "reads", "writes"),
    [(name, *case) for name, case in [*BY_TYPE.items(), ("FileCompression", MANIFEST)]],
    ids=[*BY_TYPE, "manifest"],
)
def test_job_uris_of_every_task_type(
    task_type: str, job: dict[str, Any], reads: list[str], writes: list[str]
) -> None:
    typed = DECLARED[task_type].read_job(job)
    assert (typed.reads(), typed.writes()) == (reads, writes)


@pytest.mark.parametrize(("job", "notification", "reads", "writes"), CASES)
def test_job_uris(
    job: dict[str, Any], notification: dict[str, Any], reads: list[str], writes: list[str]
) -> None:
    typed = DECLARED["OfficeConversion"].read_job({**OFFICE, **job})
    assert (typed.reads(), typed.writes() + notification_writes(notification)) == (reads, writes)


def test_service_role_round_trips_and_defaults_to_empty() -> None:
    rec = TaskRecord("p", "OfficeConversion", "t", "r", "e", 1.0, service_role="reader-role")
    fields = rec.to_fields()
    assert fields["service_role"] == "reader-role"
    assert TaskRecord.from_fields(fields).service_role == "reader-role"
    del fields["service_role"]  # a record written before the field existed
    assert TaskRecord.from_fields(fields).service_role == ""
