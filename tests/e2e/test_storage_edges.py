"""Storage edges through the official SDK (issue 11.7): a link from one bucket into another
is refused, and object names the local backend cannot hold get IMM codes, not InternalError."""

from __future__ import annotations

import pytest
from alibabacloud_imm20200930 import models as m
from alibabacloud_imm20200930.client import Client

from tests.support.service import Receiver, Service
from tests.support.task_runs import BUCKET, failed, objects_under, run_dir, submit

pytestmark = [pytest.mark.e2e, pytest.mark.soffice]

OTHER = "other-tenant-bkt"


def convert(client: Client, receiver: Receiver, source: str, target: str) -> dict[str, str]:
    request = m.CreateOfficeConversionTaskRequest(
        source_uri=source, target_type="pdf", target_uri=target
    )
    content: dict[str, str] = submit(
        client, receiver, client.create_office_conversion_task, request
    )[1].content
    return content


@pytest.mark.parametrize("how", ["file-link", "directory-link"])
def test_a_link_into_another_bucket_is_not_followed(
    service: Service, client: Client, receiver: Receiver, how: str
) -> None:
    run = run_dir()
    secret = service.put(OTHER, f"{run}/secret.txt", b"the other tenant's words")
    (service.storage / BUCKET / run).mkdir(parents=True)
    if how == "file-link":
        (service.storage / BUCKET / run / "peek.txt").symlink_to(service.object(secret))
        source = f"oss://{BUCKET}/{run}/peek.txt"
    else:
        (service.storage / BUCKET / run / "other").symlink_to(service.object(secret).parent)
        source = f"oss://{BUCKET}/{run}/other/secret.txt"
    content = convert(client, receiver, source, f"oss://{BUCKET}/{run}/out/{{barename}}.pdf")
    assert (content["Status"], content["Code"]) == ("Failed", "AccessDenied"), content
    assert "symbolic link" in content["Message"]
    assert objects_under(service, f"{run}/out") == {}
    # Writing through the link is refused too: the other bucket keeps its object.
    words = service.put(BUCKET, f"{run}/words.txt", b"overwrite attempt\n")
    content = convert(client, receiver, words, source)
    assert (content["Status"], content["Code"]) == ("Failed", "AccessDenied"), content
    assert service.object(secret).read_bytes() == b"the other tenant's words"


def test_a_source_name_longer_than_the_file_system_allows(
    service: Service, client: Client, receiver: Receiver
) -> None:
    run = run_dir()
    service.put(BUCKET, f"{run}/exists.docx", b"x")  # the directory exists
    long = f"oss://{BUCKET}/{run}/" + "a" * 295 + ".docx"  # a 300-byte name
    content = convert(client, receiver, long, f"oss://{BUCKET}/{run}/out/{{barename}}.pdf")
    assert (content["Status"], content["Code"]) == ("Failed", "ResourceNotFound"), content
    request = m.CreateFileUncompressionTaskRequest(
        source_uri=long, target_uri=f"oss://{BUCKET}/{run}/unzipped/"
    )
    delivery = submit(client, receiver, client.create_file_uncompression_task, request)[1]
    failed(delivery, "ResourceNotFound")
    assert set(objects_under(service, run)) == {"exists.docx"}


def test_a_target_name_longer_than_the_file_system_allows(
    service: Service, client: Client, receiver: Receiver
) -> None:
    run = run_dir()
    source = service.put(BUCKET, f"{run}/a.txt", b"hello\n")
    target = f"oss://{BUCKET}/{run}/out/" + "t" * 296 + ".pdf"
    content = convert(client, receiver, source, target)
    assert (content["Status"], content["Code"]) == ("Failed", "TargetWriteFailed"), content
    assert "300 bytes" in content["Message"] and "255" in content["Message"]
    assert objects_under(service, f"{run}/out") == {}
