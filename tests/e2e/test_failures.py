"""Tasks that cannot succeed fail with a clear Code, and the worker carries on."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from tests.support.e2e_service import BUCKET
from tests.support.paths import FIXTURES
from tests.support.service import Service

pytestmark = [pytest.mark.e2e, pytest.mark.soffice, pytest.mark.corpus]


def failed(delivery: Any, code: str) -> str:
    content = delivery.content
    assert content["Status"] == "Failed", content
    assert content["Code"] == code, content
    assert content["Message"]
    return str(content["Message"])


@pytest.mark.parametrize(
    ("source", "password", "code"),
    [
        ("password_protected.xlsx", None, "PasswordRequired"),  # encrypted OOXML, no password
        ("password_protected.xlsx", "wrong", "InvalidPassword"),
        ("password.pdf", None, "PasswordRequired"),
        ("password.pdf", "wrong", "InvalidPassword"),
    ],
)
def test_encrypted_document_without_the_right_password_fails(
    convert: Any, source: str, password: str | None, code: str
) -> None:
    _, delivery = convert(source, "png", password=password)
    failed(delivery, code)


@pytest.mark.parametrize(
    ("source", "password"), [("password_protected.xlsx", "123"), ("password.pdf", "password")]
)
def test_encrypted_document_with_its_password_converts(
    convert: Any, service: Service, source: str, password: str
) -> None:
    _, delivery = convert(source, "png", password=password)
    assert delivery.content["Status"] == "Succeeded", delivery.content
    assert delivery.content["TargetCount"] >= 1


def test_password_never_comes_back(convert: Any, client: Any) -> None:
    from alibabacloud_imm20200930 import models as m

    task_id, _ = convert("fake.docx", "pdf", password="s3cr3t-pw")  # ignored: not encrypted
    body = client.get_task(
        m.GetTaskRequest(
            project_name="test-project",
            task_type="OfficeConversion",
            task_id=task_id,
            request_definition=True,
        )
    ).body
    definition = json.loads(body.task_request_definition)
    assert definition["Password"] == "******"
    assert definition["SourceURI"] == f"oss://{BUCKET}/fake.docx"
    assert "s3cr3t-pw" not in body.task_request_definition


def test_damaged_document_fails_and_the_worker_lives_on(convert: Any, service: Service) -> None:
    uri = service.put(BUCKET, "bad/truncated.docx", (FIXTURES / "truncated.docx").read_bytes())
    _, delivery = convert(uri, "pdf")
    failed(delivery, "InvalidFile")

    # both worker processes still convert
    for _ in range(2):
        _, ok = convert("fake.docx", "pdf")
        assert ok.content["Status"] == "Succeeded"


def test_random_bytes_named_docx_are_refused_not_converted(convert: Any, service: Service) -> None:
    uri = service.put(BUCKET, "bad/random.docx", os.urandom(20000))
    _, delivery = convert(uri, "pdf")
    message = failed(delivery, "InvalidFile")
    assert "not a valid .docx" in message


def test_empty_file_fails(convert: Any, service: Service) -> None:
    uri = service.put(BUCKET, "bad/empty.pptx", b"")
    _, delivery = convert(uri, "png")
    failed(delivery, "InvalidFile")


def test_missing_source_object_fails_with_resource_not_found(convert: Any) -> None:
    _, delivery = convert(f"oss://{BUCKET}/no/such/file.docx", "pdf")
    message = failed(delivery, "ResourceNotFound")
    assert f"oss://{BUCKET}/no/such/file.docx" in message


def test_missing_bucket_fails_with_resource_not_found(convert: Any) -> None:
    _, delivery = convert("oss://no-such-bucket/file.docx", "pdf")
    failed(delivery, "ResourceNotFound")
