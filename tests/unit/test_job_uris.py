"""Which URIs a job reads and writes (imm_engine/tasktypes/access.py), and the record's role."""

from __future__ import annotations

from typing import Any

import pytest

from imm_engine.models import TaskRecord
from imm_engine.tasktypes.access import job_uris

SRC = "oss://in-bkt/a/b.docx"

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


@pytest.mark.parametrize(("job", "notification", "reads", "writes"), CASES)
def test_job_uris(
    job: dict[str, Any], notification: dict[str, Any], reads: list[str], writes: list[str]
) -> None:
    assert job_uris(job, notification) == (reads, writes)


def test_service_role_round_trips_and_defaults_to_empty() -> None:
    rec = TaskRecord("p", "OfficeConversion", "t", "r", "e", 1.0, service_role="reader-role")
    fields = rec.to_fields()
    assert fields["service_role"] == "reader-role"
    assert TaskRecord.from_fields(fields).service_role == "reader-role"
    del fields["service_role"]  # a record written before the field existed
    assert TaskRecord.from_fields(fields).service_role == ""
