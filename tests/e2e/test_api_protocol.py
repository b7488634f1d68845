"""The IMM wire protocol: signatures, parameters and error bodies, as the SDK sees them."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest
from alibabacloud_imm20200930 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException

from tests.support.e2e_service import BUCKET, task_keys
from tests.support.service import Service, notification, raw_call, signed_headers

pytestmark = [pytest.mark.e2e]


def create(client: Any, **kwargs: Any) -> Any:
    params = {
        "project_name": "test-project",
        "source_uri": f"oss://{BUCKET}/fake.docx",
        "target_type": "pdf",
        "target_uri": f"oss://{BUCKET}/out/{{barename}}.{{autoext}}",
        **kwargs,
    }
    return client.create_office_conversion_task(m.CreateOfficeConversionTaskRequest(**params))


def refused(client: Any, code: str, status: int = 400, **kwargs: Any) -> ClientException:
    with pytest.raises(ClientException) as info:
        create(client, **kwargs)
    err = info.value
    assert err.code == code, err
    assert err.status_code == status
    assert err.request_id and err.data["Message"]
    return err


@pytest.mark.parametrize(
    "uri",
    [
        "http://bucket.oss-cn-hangzhou.aliyuncs.com/test-object/test.docx",  # documented wrong form
        "oss://bucket.oss-cn-hangzhou.aliyuncs.com/test-object/test.docx",  # endpoint as bucket
        "oss://Examplebucket1/a.docx",  # upper case
        "oss://test_bucket_2021/a.docx",  # underscore
        "oss://aliyun-oss-bucket-/a.docx",  # trailing hyphen
        "oss://ab/a.docx",  # too short
        "oss://corpus-bkt/",  # no object
        "oss://corpus-bkt//a.docx",  # object starts with /
        "oss://corpus-bkt/dir/",  # a directory
        "oss://corpus-bkt/../etc/passwd.docx",  # escapes the bucket
        "oss://corpus-bkt/a\x00b.docx",  # NUL
        "oss://corpus-bkt/a\nb.docx",  # control character
        "corpus-bkt/a.docx",  # no scheme
        "oss://corpus-bkt/" + "k" * 1020 + ".docx",  # key longer than 1023 bytes
    ],
)
def test_invalid_source_uri_is_refused_before_anything_is_queued(
    client: Any, service: Service, store: Any, uri: str
) -> None:
    before = task_keys(store, service)
    refused(client, "InvalidArgument", source_uri=uri)
    assert task_keys(store, service) == before


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"target_uri": "oss://UPPER/x.pdf"}, "InvalidArgument"),
        ({"target_uri": "oss://corpus-bkt/{nosuch}.pdf"}, "InvalidArgument"),  # unknown variable
        ({"target_uri": "oss://corpus-bkt/{tags.missing}.pdf"}, "InvalidArgument"),  # absent tag
        ({"target_uri": "oss://corpus-bkt/{index.__class__}.pdf"}, "InvalidArgument"),  # injection
        ({"target_uri": "oss://corpus-bkt/{dirname}/../../x.pdf"}, "InvalidArgument"),
        ({"target_uri": None, "target_uriprefix": None}, "MissingTargetURI"),
        ({"target_uriprefix": "oss://corpus-bkt/p/"}, "InvalidArgument"),  # both given
        (
            {"target_type": "png", "target_uri": "oss://corpus-bkt/one.png"},
            "InvalidArgument",
        ),  # no {index}
        ({"target_type": "gif"}, "InvalidArgument"),
        ({"target_type": None}, "MissingTargetType"),
        ({"project_name": None}, "MissingProjectName"),
        ({"project_name": "9starts-with-digit"}, "InvalidArgument"),
        ({"source_uri": None}, "MissingSourceURI"),
        ({"source_uri": "oss://corpus-bkt/file.exe"}, "InvalidArgument"),  # unsupported type
        ({"source_uri": "oss://corpus-bkt/noextension"}, "InvalidArgument"),  # needs SourceType
        ({"image_dpi": 1200}, "InvalidArgument"),
        ({"image_dpi": 10}, "InvalidArgument"),
        ({"quality": 101}, "InvalidArgument"),
        ({"pages": "3-1"}, "InvalidArgument"),
        ({"pages": "one"}, "InvalidArgument"),
        ({"start_page": 0}, "InvalidArgument"),
        ({"user_data": "x" * 2049}, "InvalidArgument"),
        ({"notification": notification("not-configured")}, "InvalidArgument"),
        ({"long_picture": True}, "InvalidArgument"),  # images only: refused for pdf output
    ],
)
def test_invalid_parameters_are_refused(
    client: Any, service: Service, store: Any, kwargs: dict[str, Any], code: str
) -> None:
    before = task_keys(store, service)
    refused(client, code, **kwargs)
    assert task_keys(store, service) == before


def test_wrong_secret_is_refused(service: Service) -> None:
    with pytest.raises(ClientException) as info:
        create(service.client(secret="not-the-secret"))
    assert info.value.code == "SignatureDoesNotMatch"
    assert info.value.status_code == 400


def test_unknown_access_key_is_refused(service: Service) -> None:
    with pytest.raises(ClientException) as info:
        create(service.client(key_id="nobody"))
    assert info.value.code == "InvalidAccessKeyId.NotFound"
    assert info.value.status_code == 404


def query(**extra: str) -> dict[str, str]:
    return {
        "ProjectName": "test-project",
        "SourceURI": f"oss://{BUCKET}/fake.docx",
        "TargetType": "pdf",
        "TargetURI": f"oss://{BUCKET}/out/raw.pdf",
        **extra,
    }


def test_raw_signed_request_is_accepted(service: Service) -> None:
    q = query()
    response = raw_call(
        service.port, q, signed_headers(service.port, "CreateOfficeConversionTask", q)
    )
    assert response.status_code == 200, response.text
    assert response.json()["TaskId"].startswith("OfficeConversion-")
    assert response.headers["content-type"].startswith("application/json")


def test_tampered_parameter_is_refused(service: Service, store: Any) -> None:
    before = task_keys(store, service)
    headers = signed_headers(service.port, "CreateOfficeConversionTask", query())
    response = raw_call(service.port, query(TargetURI=f"oss://{BUCKET}/elsewhere.pdf"), headers)
    assert response.status_code == 400
    body = response.json()
    assert body["Code"] == "SignatureDoesNotMatch"
    assert set(body) >= {"RequestId", "HostId", "Code", "Message"}
    assert task_keys(store, service) == before


def test_tampered_body_is_refused(service: Service) -> None:
    body = b"Sources=%5B%5D"
    headers = signed_headers(service.port, "CreateOfficeConversionTask", query(), body=body)
    response = raw_call(service.port, query(), headers, body=b"Sources=%5B1%5D")
    assert response.status_code == 400
    assert response.json()["Code"] == "SignatureDoesNotMatch"


def test_replayed_request_is_refused(service: Service) -> None:
    nonce = uuid.uuid4().hex
    headers = signed_headers(service.port, "CreateOfficeConversionTask", query(), nonce=nonce)
    assert raw_call(service.port, query(), headers).status_code == 200
    again = raw_call(service.port, query(), headers)
    assert again.status_code == 400
    assert again.json()["Code"] == "SignatureNonceUsed"


def test_stale_request_is_refused(service: Service) -> None:
    old = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    headers = signed_headers(service.port, "CreateOfficeConversionTask", query(), date=old)
    response = raw_call(service.port, query(), headers)
    assert response.status_code == 400
    assert response.json()["Code"] == "InvalidTimeStamp.Expired"


def test_unsigned_request_is_refused(service: Service) -> None:
    response = raw_call(
        service.port,
        query(),
        {"x-acs-action": "CreateOfficeConversionTask", "x-acs-version": "2020-09-30"},
    )
    assert response.status_code == 400
    assert response.json()["Code"] == "MissingAuthorization"


def test_unknown_action_is_refused(service: Service) -> None:
    headers = signed_headers(service.port, "CreateNothingTask", {})
    response = raw_call(service.port, {}, headers)
    assert response.status_code == 404
    assert response.json()["Code"] == "InvalidAction.NotFound"


def test_wrong_version_is_refused(service: Service) -> None:
    headers = signed_headers(service.port, "GetTask", {}, version="2019-01-01")
    response = raw_call(service.port, {}, headers)
    assert response.status_code == 400
    assert response.json()["Code"] == "InvalidVersion"


def test_2020_action_under_2017_is_not_found(service: Service) -> None:
    """The versions share a few action names; GetTask exists only in 2020-09-30."""
    headers = signed_headers(service.port, "GetTask", {}, version="2017-09-06")
    response = raw_call(service.port, {}, headers)
    assert response.status_code == 404
    assert response.json()["Code"] == "InvalidAction.NotFound"


def test_duplicated_parameter_is_refused(service: Service) -> None:
    q = query()
    headers = signed_headers(service.port, "CreateOfficeConversionTask", q)
    url_query = [*q.items(), ("TargetType", "png")]
    response = httpx.post(f"http://127.0.0.1:{service.port}/", params=url_query, headers=headers)
    assert response.status_code == 400
    assert response.json()["Code"] in ("InvalidArgument", "SignatureDoesNotMatch")


def test_booleans_in_any_case(service: Service) -> None:
    for value in ("true", "TRUE", "True", "false"):
        q = query(LongText=value)
        response = raw_call(
            service.port, q, signed_headers(service.port, "CreateOfficeConversionTask", q)
        )
        assert response.status_code == 200, (value, response.text)
    q = query(LongText="maybe")
    response = raw_call(
        service.port, q, signed_headers(service.port, "CreateOfficeConversionTask", q)
    )
    assert response.status_code == 400
    assert "LongText" in response.json()["Message"]


def test_oversized_request_is_refused(service: Service) -> None:
    body = b"Sources=" + b"x" * (2 * 1024 * 1024)
    headers = signed_headers(service.port, "CreateOfficeConversionTask", query(), body=body)
    response = raw_call(service.port, query(), headers, body=body)
    assert response.status_code == 413
    assert response.json()["Code"] == "RequestEntityTooLarge"


def test_get_task_of_unknown_task_is_not_found(client: Any) -> None:
    with pytest.raises(ClientException) as info:
        client.get_task(
            m.GetTaskRequest(
                project_name="test-project",
                task_type="OfficeConversion",
                task_id="OfficeConversion-nope",
            )
        )
    assert info.value.code == "ResourceNotFound"
    assert info.value.status_code == 404


def test_get_task_of_another_project_is_not_found(client: Any) -> None:
    task_id = create(client).body.task_id
    with pytest.raises(ClientException) as info:
        client.get_task(
            m.GetTaskRequest(
                project_name="other-project", task_type="OfficeConversion", task_id=task_id
            )
        )
    assert info.value.code == "ResourceNotFound"


def test_create_answers_at_once_with_ids_in_imm_shapes(client: Any) -> None:
    body = create(client).body
    assert (
        body.task_id.startswith("OfficeConversion-")
        and len(body.task_id) == len("OfficeConversion-") + 36
    )
    assert body.request_id == body.request_id.upper() and len(body.request_id) == 36
    assert len(body.event_id.split("-")[0]) == 3


def test_record_expires_seven_days_after_start(client: Any, service: Service, store: Any) -> None:
    task_id = create(client).body.task_id
    key = f"{service.env['IMM_KEY_PREFIX']}:task:{task_id}"
    ttl = store.ttl(key)
    assert 7 * 86400 - 60 < ttl <= 7 * 86400
