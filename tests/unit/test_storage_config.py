"""The storage configuration (imm_engine/storage/config.py) and error mapping (failures.py)."""

from __future__ import annotations

from typing import Any

import pytest

from imm_engine.storage.base import AccessDenied, ObjectNotFound
from imm_engine.storage.config import StorageConfig, parse_storage_config
from imm_engine.storage.failures import Kind, classify, to_error

OSS = {"type": "oss", "endpoint": "https://oss-cn-hangzhou.aliyuncs.com",
       "access_key_id": "ak", "access_key_secret": "sk"}  # fmt: skip
S3 = {"type": "s3", "endpoint_url": "http://127.0.0.1:9000", "access_key_id": "a",
      "secret_access_key": "b"}  # fmt: skip


def test_no_configuration_is_local_for_every_bucket() -> None:
    config = parse_storage_config(None, {})
    assert config == StorageConfig()
    assert config.backend_for("anything") == "local"
    assert config.backends["local"].type == "local"


def test_the_brief_example() -> None:
    doc = {
        "backends": {"disk": {"type": "local", "root": "/data"}, "aliyun": OSS, "minio": S3},
        "buckets": {"media-in": "aliyun", "minio-bkt": "minio", "*": "disk"},
        "roles": {"reader-role": {"read": ["media-in"], "write": ["media-out"]}},
    }
    config = parse_storage_config(doc, {})
    assert config.backend_for("media-in") == "aliyun"
    assert config.backend_for("minio-bkt") == "minio"
    assert config.backend_for("other") == "disk"
    assert config.backends["aliyun"].secret("access_key_secret") == "sk"
    assert "sk" not in repr(config.backends["aliyun"])
    assert config.describe() == (
        "media-in -> aliyun (oss), minio-bkt -> minio (s3), * -> disk (local)"
    )
    assert config.grants.allowed("reader-role", "media-in", "read")  # type: ignore[arg-type]


def test_without_star_unlisted_buckets_have_no_backend() -> None:
    config = parse_storage_config({"backends": {"a": OSS}, "buckets": {"only": "a"}}, {})
    assert config.backend_for("only") == "a"
    assert config.backend_for("other") is None


def test_one_backend_needs_no_buckets_section() -> None:
    config = parse_storage_config({"backends": {"a": OSS}}, {})
    assert config.backend_for("x") == "a"


def test_secrets_from_the_environment() -> None:
    spec = {**OSS, "access_key_secret_env": "MY_SECRET"}
    del spec["access_key_secret"]
    config = parse_storage_config({"backends": {"a": spec}}, {"MY_SECRET": "from-env"})
    assert config.backends["a"].secret("access_key_secret") == "from-env"


def _without(d: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != key}


BAD = [
    pytest.param([], {}, "JSON object", id="not-object"),
    pytest.param({"backend": {}}, {}, "unknown section", id="unknown-section"),
    pytest.param({"backends": {"a": {"type": "ftp"}}}, {}, "type", id="unknown-type"),
    pytest.param({"backends": {"a": _without(OSS, "endpoint")}}, {}, "missing endpoint",
                 id="oss-missing-endpoint"),
    pytest.param({"backends": {"a": {**OSS, "endpoint": "oss-cn-hangzhou.aliyuncs.com"}}}, {},
                 "http:// or https://", id="oss-endpoint-scheme"),
    pytest.param({"backends": {"a": {**OSS, "colour": "red"}}}, {}, "unknown option 'colour'",
                 id="unknown-option"),
    pytest.param({"backends": {"a": {**OSS, "signature_version": "v4"}}}, {}, "needs region",
                 id="v4-needs-region"),
    pytest.param({"backends": {"a": {**_without(OSS, "access_key_secret"),
                                     "access_key_secret_env": "NOPE"}}}, {},
                 "names NOPE, which is not set", id="env-secret-unset"),
    pytest.param({"backends": {"a": {**OSS, "access_key_secret_env": "X"}}}, {"X": "y"},
                 "not both", id="secret-and-env"),
    pytest.param({"backends": {"a": {**OSS, "part_size": 1024}}}, {}, "part_size=1024",
                 id="part-too-small"),
    pytest.param({"backends": {"a": {**OSS, "multipart_threshold": "big"}}}, {},
                 "number of bytes", id="threshold-not-number"),
    pytest.param({"backends": {"a": _without(S3, "secret_access_key")}}, {}, "together",
                 id="s3-half-credentials"),
    pytest.param({"backends": {"a": {**S3, "addressing_style": "weird"}}}, {},
                 "addressing_style", id="s3-style"),
    pytest.param({"backends": {"a": OSS, "b": S3}}, {}, "left out only when there is one",
                 id="two-backends-no-buckets"),
    pytest.param({"backends": {"a": OSS}, "buckets": {"x-y": "nope"}}, {},
                 "'nope', which 'backends' does not define", id="bucket-unknown-backend"),
    pytest.param({"backends": {"a": OSS}, "buckets": {"Bad_Bucket": "a"}}, {},
                 "not a bucket name", id="bad-bucket-name"),
    pytest.param({"roles": {"r": {"read": "UPPER"}}}, {}, "pattern", id="bad-role"),
]  # fmt: skip


@pytest.mark.parametrize(("doc", "env", "message"), BAD)
def test_bad_configuration_is_refused(doc: Any, env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_storage_config(doc, env)


CLASSIFY = [
    pytest.param(404, "NoSuchKey", Kind.NOT_FOUND, id="no-such-key"),
    pytest.param(404, "NoSuchBucket", Kind.NOT_FOUND, id="no-such-bucket"),
    pytest.param(404, "", Kind.NOT_FOUND, id="head-404"),
    pytest.param(403, "AccessDenied", Kind.DENIED, id="access-denied"),
    pytest.param(403, "SignatureDoesNotMatch", Kind.DENIED, id="bad-signature"),
    pytest.param(403, "InvalidAccessKeyId", Kind.DENIED, id="unknown-key"),
    pytest.param(403, "", Kind.DENIED, id="head-403"),
    pytest.param(503, "SlowDown", Kind.TRANSIENT, id="s3-slow-down"),
    pytest.param(503, "ServiceUnavailable", Kind.TRANSIENT, id="unavailable"),
    pytest.param(500, "InternalError", Kind.TRANSIENT, id="internal"),
    pytest.param(502, "", Kind.TRANSIENT, id="bad-gateway"),
    pytest.param(429, "", Kind.TRANSIENT, id="too-many-requests"),
    pytest.param(403, "RequestTimeTooSkewed", Kind.DENIED, id="clock-skew-is-not-retried"),
    pytest.param(-2, "", Kind.TRANSIENT, id="no-answer"),
    pytest.param(400, "InvalidArgument", Kind.PERMANENT, id="bad-request"),
    pytest.param(400, "EntityTooLarge", Kind.PERMANENT, id="too-large"),
    pytest.param(409, "", Kind.PERMANENT, id="conflict"),
]


@pytest.mark.parametrize(("status", "code", "kind"), CLASSIFY)
def test_classify(status: int, code: str, kind: Kind) -> None:
    assert classify(status, code) == kind


def test_to_error() -> None:
    assert isinstance(to_error(Kind.NOT_FOUND, "read x", "d"), ObjectNotFound)
    denied = to_error(Kind.DENIED, "read x", "d")
    assert isinstance(denied, AccessDenied) and not denied.transient
    assert to_error(Kind.TRANSIENT, "read x", "d").transient
    assert not to_error(Kind.PERMANENT, "read x", "d").transient
