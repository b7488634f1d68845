"""Metric label values (imm_engine/metrics/labels.py) and the scrape token check: table-driven.
Each task type's source and target labels are tested with its job (tests/unit/test_office_job.py,
tests/unit/test_job_records.py)."""

from __future__ import annotations

import pytest

from imm_engine.metrics.exposition import authorized
from imm_engine.metrics.labels import action, bounded, error_code
from imm_engine.settings import Settings


@pytest.mark.parametrize(
    ("name", "label"),
    [("GetTask", "GetTask"), ("CreateOfficeConversionTask", "CreateOfficeConversionTask"),
     ("", "other"), ("gettask", "other"), ("x" * 500, "other")],
)  # fmt: skip
def test_action_label_is_a_known_action_or_other(name: str, label: str) -> None:
    assert action(name, ["GetTask", "CreateOfficeConversionTask"]) == label


@pytest.mark.parametrize(
    ("value", "label"), [("pdf", "pdf"), ("PDF", "other"), (None, "other"), ("", "other")]
)
def test_bounded_keeps_only_known_values(value: str | None, label: str) -> None:
    assert bounded(value, {"pdf", "png"}) == label


def test_error_code_is_bounded_in_length() -> None:
    assert error_code("InvalidFile") == "InvalidFile"
    assert len(error_code("C" * 500)) == 64


@pytest.mark.parametrize(
    ("header", "token", "ok"),
    [
        (None, "", True),
        ("anything", "", True),
        (None, "s3cret", False),
        ("", "s3cret", False),
        ("Bearer s3cret", "s3cret", True),
        ("bearer s3cret", "s3cret", True),
        ("Bearer  s3cret ", "s3cret", True),
        ("Bearer wrong", "s3cret", False),
        ("Bearer s3cret2", "s3cret", False),
        ("Basic s3cret", "s3cret", False),
        ("s3cret", "s3cret", False),
    ],
)
def test_bearer_token(header: str | None, token: str, ok: bool) -> None:
    assert authorized(header, token) is ok


def test_metrics_settings() -> None:
    s = Settings.from_env({})
    token = s.metrics_token.get_secret_value()
    assert (token, s.metrics_host, s.worker_metrics_port) == ("", "127.0.0.1", 9464)
    assert str(s.metrics_dir) == "var/metrics"
    s = Settings.from_env(
        {
            "IMM_METRICS_TOKEN": "t",
            "IMM_METRICS_HOST": "0.0.0.0",
            "IMM_WORKER_METRICS_PORT": "0",
            "IMM_DATA_DIR": "/srv/imm",
        }
    )
    token = s.metrics_token.get_secret_value()
    assert (token, s.metrics_host, s.worker_metrics_port) == ("t", "0.0.0.0", 0)
    assert str(s.metrics_dir) == "/srv/imm/metrics"
