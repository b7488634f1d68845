"""Conversions between storage backends through the real service (`imm-engine up`).

The source sits in an S3 server (moto, a real S3-protocol server on loopback) and the pages
go to the signature-checking fake OSS (tests/support/fakes/oss_server.py), and the other way round;
the worker reaches both through the real boto3 and oss2 SDKs, chosen per bucket by
IMM_STORAGE_CONFIG. The default role is restricted here, to prove grants are enforced both at
submission (403 AccessDenied) and in the worker (task Code AccessDenied). What this cannot
prove: behaviour against real Alibaba OSS (see tests/integration/test_storage_backends.py).
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymupdf
import pytest
import redis
from alibabacloud_imm20200930 import models as m
from PIL import Image

from tests.support.e2e_service import REDIS_URL
from tests.support.fakes.storage_servers import DENIED_BUCKET, OssServer, S3Server
from tests.support.needs import need, redis_available
from tests.support.service import Receiver, Service, notification

pytestmark = [pytest.mark.e2e, pytest.mark.soffice, pytest.mark.corpus]

S3_BUCKET = "s3-docs"
OSS_BUCKET = "oss-pages"
TOPIC = "storage-topic"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[S3Server, OssServer]]:
    s3 = S3Server().start()
    s3.client().create_bucket(Bucket=S3_BUCKET)
    oss = OssServer(tmp_path_factory.mktemp("oss")).start()
    oss.make_bucket(OSS_BUCKET)
    oss.make_bucket(DENIED_BUCKET)
    yield s3, oss
    oss.stop()
    s3.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def svc(
    tmp_path_factory: pytest.TempPathFactory,
    servers: tuple[S3Server, OssServer],
    receiver: Receiver,
) -> Iterator[Service]:
    need(redis_available(REDIS_URL), "Redis on 127.0.0.1:6379")
    s3, oss = servers
    prefix = f"immstor{uuid.uuid4().hex[:8]}"
    storage = {
        "backends": {
            "minio": s3.backend(),
            "aliyun": {
                **{k: v for k, v in oss.backend().items() if k != "access_key_secret"},
                "access_key_secret_env": "FAKE_OSS_SECRET",
            },
        },
        "buckets": {S3_BUCKET: "minio", OSS_BUCKET: "aliyun", DENIED_BUCKET: "aliyun"},
        "roles": {
            # The default role may read the S3 bucket and write both; never DENIED_BUCKET's
            # reads, and the local "scratch" bucket not at all.
            "AliyunIMMDefaultRole": {
                "read": [S3_BUCKET, OSS_BUCKET],
                "write": [OSS_BUCKET, S3_BUCKET, DENIED_BUCKET],
            }
        },
    }
    oss_secret = oss.backend()["access_key_secret"]
    service = Service(
        tmp_path_factory.mktemp("imm-storage"),
        {
            "IMM_REDIS_URL": REDIS_URL,
            "IMM_KEY_PREFIX": prefix,
            "IMM_WORKER_CONCURRENCY": "1",
            "IMM_CONVERT_TIMEOUT": "120",
            "IMM_STORAGE_CONFIG": json.dumps(storage),
            "IMM_NOTIFY_TOPICS": json.dumps(
                {TOPIC: {"type": "webhook", "url": receiver.url, "allow_private": True}}
            ),
        },
    )
    import os

    os.environ["FAKE_OSS_SECRET"] = oss_secret  # the service reads the secret indirectly
    try:
        service.start()
    finally:
        del os.environ["FAKE_OSS_SECRET"]
    yield service
    code = service.stop()
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}*", count=1000):
        client.delete(key)
    assert code == 0, service.log()


def submit(svc: Service, source: str, target_type: str, **kwargs: Any) -> str:
    request = m.CreateOfficeConversionTaskRequest(
        project_name="test-project",
        source_uri=source,
        target_type=target_type,
        notification=notification(TOPIC),
        **kwargs,
    )
    return str(svc.client().create_office_conversion_task(request).body.task_id)


def test_s3_source_to_oss_pages(
    svc: Service, servers: tuple[S3Server, OssServer], receiver: Receiver, corpus: Path
) -> None:
    s3, oss = servers
    s3.client().put_object(
        Bucket=S3_BUCKET, Key="in/handbook.docx", Body=(corpus / "handbook-1p.docx").read_bytes()
    )
    before = oss.stats().get("PutObject", 0)
    run = uuid.uuid4().hex[:8]
    task_id = submit(
        svc,
        f"oss://{S3_BUCKET}/in/handbook.docx",
        "png",
        target_uri=f"oss://{OSS_BUCKET}/{run}/{{barename}}/{{index}}.{{autoext}}",
    )
    content = receiver.wait_for(task_id).content
    assert content["Status"] == "Succeeded", content
    assert content["TargetCount"] == content["PageCount"] >= 1
    for n in range(1, content["TargetCount"] + 1):
        path = oss.path(OSS_BUCKET, f"{run}/handbook/{n}.png")
        with Image.open(path) as img:
            assert img.format == "PNG" and img.width > 500 and img.height > 500
    assert oss.stats().get("PutObject", 0) - before == content["TargetCount"]


def test_oss_source_to_s3_pdf(
    svc: Service, servers: tuple[S3Server, OssServer], receiver: Receiver, corpus: Path
) -> None:
    s3, oss = servers
    path = oss.path(OSS_BUCKET, "in/page-breaks.docx")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((corpus / "page-breaks.docx").read_bytes())
    task_id = submit(
        svc,
        f"oss://{OSS_BUCKET}/in/page-breaks.docx",
        "pdf",
        target_uriprefix=f"oss://{S3_BUCKET}/pdf/",
    )
    content = receiver.wait_for(task_id).content
    assert content["Status"] == "Succeeded", content
    body = s3.client().get_object(Bucket=S3_BUCKET, Key="pdf/page-breaks.pdf")["Body"].read()
    with pymupdf.open(stream=io.BytesIO(body), filetype="pdf") as doc:
        assert doc.page_count == content["PageCount"] >= 2


def test_missing_s3_source_is_resource_not_found(svc: Service, receiver: Receiver) -> None:
    task_id = submit(
        svc, f"oss://{S3_BUCKET}/no/such.docx", "pdf", target_uriprefix=f"oss://{OSS_BUCKET}/x/"
    )
    content = receiver.wait_for(task_id).content
    assert (content["Status"], content["Code"]) == ("Failed", "ResourceNotFound"), content


def test_oss_refusing_the_write_fails_access_denied(
    svc: Service, servers: tuple[S3Server, OssServer], receiver: Receiver, corpus: Path
) -> None:
    s3, _ = servers
    s3.client().put_object(
        Bucket=S3_BUCKET, Key="in/fake.docx", Body=(corpus / "fake.docx").read_bytes()
    )
    task_id = submit(
        svc, f"oss://{S3_BUCKET}/in/fake.docx", "pdf", target_uriprefix=f"oss://{DENIED_BUCKET}/"
    )
    content = receiver.wait_for(task_id).content
    assert (content["Status"], content["Code"]) == ("Failed", "AccessDenied"), content
    assert DENIED_BUCKET in content["Message"]


def test_role_without_grant_is_refused_at_submission(svc: Service) -> None:
    from Tea.exceptions import TeaException

    with pytest.raises(TeaException) as err:  # the role may not read DENIED_BUCKET
        submit(svc, f"oss://{DENIED_BUCKET}/a.docx", "pdf", target_uriprefix=f"oss://{OSS_BUCKET}/")
    assert err.value.code == "AccessDenied"
    assert err.value.statusCode == 403
    assert "AliyunIMMDefaultRole" in err.value.message and DENIED_BUCKET in err.value.message
    with pytest.raises(TeaException, match="write"):  # may read OSS_BUCKET, not write "scratch"
        submit(svc, f"oss://{OSS_BUCKET}/a.docx", "pdf", target_uriprefix="oss://scratch/out/")


def test_role_without_grant_fails_in_the_worker(
    svc: Service, servers: tuple[S3Server, OssServer], receiver: Receiver, corpus: Path
) -> None:
    """A bucket named by a tag is only known when the task runs: the worker refuses it."""
    s3, _ = servers
    s3.client().put_object(
        Bucket=S3_BUCKET, Key="in/fake2.docx", Body=(corpus / "fake.docx").read_bytes()
    )
    task_id = submit(
        svc,
        f"oss://{S3_BUCKET}/in/fake2.docx",
        "pdf",
        target_uri="oss://{tags.dest}/out/{barename}.{autoext}",
        tags={"dest": "scratch"},
    )
    content = receiver.wait_for(task_id).content
    assert (content["Status"], content["Code"]) == ("Failed", "AccessDenied"), content
    assert "scratch" in content["Message"] and "write" in content["Message"]
    assert not (svc.storage / "scratch").exists()


def test_compress_an_s3_prefix_into_an_oss_zip(
    svc: Service, servers: tuple[S3Server, OssServer], receiver: Receiver
) -> None:
    """FileCompression's prefix rule lists the S3 bucket (ListObjectsV2) and the zip is
    written to the OSS fake; the listing goes through the role guard and the bucket router."""
    s3, oss = servers
    run = uuid.uuid4().hex[:8]
    files = {f"zip/{run}/a.txt": b"alpha", f"zip/{run}/sub/b.txt": b"bravo" * 100}
    for key, body in files.items():
        s3.client().put_object(Bucket=S3_BUCKET, Key=key, Body=body)
    s3.client().put_object(Bucket=S3_BUCKET, Key=f"zip/{run}-not/c.txt", Body=b"outside")
    request = m.CreateFileCompressionTaskRequest(
        project_name="test-project",
        sources=[m.CreateFileCompressionTaskRequestSources(uri=f"oss://{S3_BUCKET}/zip/{run}/")],
        target_uri=f"oss://{OSS_BUCKET}/zips/{run}.zip",
        notification=notification(TOPIC),
    )
    task_id = str(svc.client().create_file_compression_task(request).body.task_id)
    content = receiver.wait_for(task_id).content
    assert content["Status"] == "Succeeded", content
    with zipfile.ZipFile(oss.path(OSS_BUCKET, f"zips/{run}.zip")) as zf:
        assert {n: zf.read(n) for n in zf.namelist()} == files


def test_every_task_type_is_checked_at_submission(svc: Service) -> None:
    """The role may not write "scratch" nor read DENIED_BUCKET: refused before anything runs."""
    from Tea.exceptions import TeaException

    client = svc.client()
    calls = [
        lambda: client.create_file_compression_task(
            m.CreateFileCompressionTaskRequest(
                project_name="test-project",
                sources=[m.CreateFileCompressionTaskRequestSources(uri=f"oss://{S3_BUCKET}/a/")],
                target_uri="oss://scratch/a.zip",
            )
        ),
        lambda: client.create_image_to_pdftask(
            m.CreateImageToPDFTaskRequest(
                project_name="test-project",
                sources=[m.CreateImageToPDFTaskRequestSources(uri=f"oss://{DENIED_BUCKET}/a.png")],
                target_uri=f"oss://{OSS_BUCKET}/a.pdf",
            )
        ),
        lambda: client.create_file_uncompression_task(
            m.CreateFileUncompressionTaskRequest(
                project_name="test-project",
                source_uri=f"oss://{S3_BUCKET}/a.zip",
                target_uri="oss://scratch/a/",
            )
        ),
    ]
    for call in calls:
        with pytest.raises(TeaException) as err:
            call()
        assert (err.value.code, err.value.statusCode) == ("AccessDenied", 403)
