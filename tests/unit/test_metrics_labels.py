"""Metric label values (imm_engine/metrics/labels.py) and the scrape token check: table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from imm_engine.metrics.exposition import authorized
from imm_engine.metrics.labels import action, error_code, source_family, target_format
from imm_engine.settings import Settings


@pytest.mark.parametrize(
    ("task_type", "job", "source", "target"),
    [
        ("OfficeConversion", {"source_type": "docx", "target_type": "pdf"}, "word", "pdf"),
        ("OfficeConversion", {"source_type": "xlsx", "target_type": "png"}, "spreadsheet", "png"),
        ("OfficeConversion", {"source_type": "pptx", "target_type": "jpg"}, "presentation", "jpg"),
        ("OfficeConversion", {"source_type": "pdf", "target_type": "txt"}, "pdf", "txt"),
        ("OfficeConversion", {"source_type": "epub", "target_type": "pdf"}, "ebook", "pdf"),
        ("OfficeConversion", {"source_type": "py", "target_type": "pdf"}, "text", "pdf"),
        ("OfficeConversion", {"source_type": "txt", "target_type": "pdf"}, "word", "pdf"),
        ("OfficeConversion", {"sources": [{}], "source_type": "pdf", "target_type": "pdf"},
         "image", "pdf"),
        ("OfficeConversion", {"source_type": "weird", "target_type": "svg"}, "other", "other"),
        ("OfficeConversion", {}, "other", "other"),
        ("MediaConvert", {"targets": [{"Container": "mp4"}, {"Container": "mp3"}]}, "", "mp4"),
        ("MediaConvert", {"targets": [{"Container": "../../etc"}]}, "", "other"),
        ("MediaConvert", {"targets": []}, "", "other"),
        ("MediaConvert", {"targets": ["x"]}, "", "other"),
        ("ImageSplicing", {"image_format": "webp"}, "", "webp"),
        ("ImageSplicing", {"image_format": "bmp"}, "", "other"),
        ("ImageToPDF", {}, "", "pdf"),
        ("FileCompression", {"format": "zip"}, "", "zip"),
        ("FileUncompression", {}, "", ""),
        ("ArchiveFileInspection", {}, "", ""),
    ],
)  # fmt: skip
def test_source_and_target_labels(
    task_type: str, job: dict[str, Any], source: str, target: str
) -> None:
    assert (source_family(task_type, job), target_format(task_type, job)) == (source, target)


@pytest.mark.parametrize(
    ("name", "label"),
    [("GetTask", "GetTask"), ("CreateOfficeConversionTask", "CreateOfficeConversionTask"),
     ("", "other"), ("gettask", "other"), ("x" * 500, "other")],
)  # fmt: skip
def test_action_label_is_a_known_action_or_other(name: str, label: str) -> None:
    assert action(name, ["GetTask", "CreateOfficeConversionTask"]) == label


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
