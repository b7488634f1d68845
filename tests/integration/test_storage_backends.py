"""The OSS and S3 backends against real HTTP servers on loopback, through the real SDKs.

S3: moto's S3 server (a real S3-protocol server; it does not check signatures, so a wrong
S3 key is not tested here). OSS: tests/support/fakes/oss_server.py, which checks OSS v1 and v4
signatures, so a wrong secret fails. What the fake cannot prove: that real OSS accepts these
exact requests (virtual-hosted URLs, HTTPS, STS tokens, server-side limits such as the
minimum part size, error codes we did not reproduce). `test_real_oss` covers that when
OSS_TEST_ENDPOINT, OSS_TEST_BUCKET, OSS_TEST_AK and OSS_TEST_SECRET are set.
"""

from __future__ import annotations

import hashlib
import os
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from imm_engine.storage.base import (
    AccessDenied,
    Deleter,
    ObjectNotFound,
    ObjectStore,
    ObjectTooLarge,
    StorageError,
)
from imm_engine.storage.config import MIB, parse_storage_config
from imm_engine.storage.oss import OssStore
from imm_engine.storage.s3 import S3Store
from imm_engine.targets.uris import OssUri
from tests.support.fakes.storage_servers import DENIED_BUCKET, OssServer, S3Server, free_port

BUCKET = "imm-it-bucket"


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    server = S3Server().start()
    server.client().create_bucket(Bucket=BUCKET)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def oss_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OssServer]:
    server = OssServer(tmp_path_factory.mktemp("oss")).start()
    server.make_bucket(BUCKET)
    server.make_bucket(DENIED_BUCKET)
    yield server
    server.stop()


def backend(spec: dict[str, Any]) -> Any:
    config = parse_storage_config({"backends": {"b": spec}}, {})
    b = config.backends["b"]
    return S3Store(b) if b.type == "s3" else OssStore(b)


@pytest.fixture(params=["s3", "oss", "oss-v4"])
def store(request: pytest.FixtureRequest) -> ObjectStore:
    if request.param == "s3":
        return backend(request.getfixturevalue("s3_server").backend())
    server: OssServer = request.getfixturevalue("oss_server")
    if request.param == "oss-v4":
        return backend(server.backend(signature_version="v4", region="cn-hangzhou"))
    return backend(server.backend())


def key() -> str:
    return f"it/{uuid.uuid4().hex}/文档 1.docx"


def test_round_trip(store: ObjectStore, tmp_path: Path) -> None:
    uri = OssUri(BUCKET, key())
    src = tmp_path / "src"
    src.write_bytes(b"hello \x00 world" * 1000)
    before = time.time()
    store.upload(src, uri)
    info = store.stat(uri)
    assert info is not None and info.size == 13000
    assert before - 5 <= info.mtime <= time.time() + 5
    got = store.download(uri, tmp_path / "dest", max_bytes=13000)
    assert (tmp_path / "dest").read_bytes() == src.read_bytes()
    assert got.size == 13000
    # An upload replaces the object whole.
    src.write_bytes(b"short")
    store.upload(src, uri)
    store.download(uri, tmp_path / "dest2", max_bytes=100)
    assert (tmp_path / "dest2").read_bytes() == b"short"


def test_delete(store: Any, tmp_path: Path) -> None:
    """Only imm-engine's temporary objects are deleted (workers/split/scratch.py)."""
    assert isinstance(store, Deleter)
    uri = OssUri(BUCKET, key())
    (tmp_path / "src").write_bytes(b"temporary")
    store.upload(tmp_path / "src", uri)
    store.delete(uri)
    assert store.stat(uri) is None
    store.delete(uri)  # already gone: not an error


def test_empty_object(store: ObjectStore, tmp_path: Path) -> None:
    uri = OssUri(BUCKET, key())
    (tmp_path / "empty").write_bytes(b"")
    store.upload(tmp_path / "empty", uri)
    assert store.download(uri, tmp_path / "d", max_bytes=10).size == 0
    assert (tmp_path / "d").read_bytes() == b""


def test_list_prefix_pages_in_key_order(store: Any, tmp_path: Path) -> None:
    base = f"list/{uuid.uuid4().hex}"
    names = [f"{base}/a.txt", f"{base}/b/c.txt", f"{base}/b/d 文.txt", f"{base}x/e.txt"]
    for n, name in enumerate(names):
        (tmp_path / "f").write_bytes(b"x" * (n + 1))
        store.upload(tmp_path / "f", OssUri(BUCKET, name))
    (tmp_path / "f").write_bytes(b"x")
    store.upload(tmp_path / "f", OssUri(BUCKET, f"{base}-other/z.txt"))
    store.list_page_size = 2  # three objects under the prefix: two pages
    found = list(store.list_prefix(BUCKET, f"{base}/"))
    assert [k for k, _ in found] == names[:3]
    assert [info.size for _, info in found] == [1, 2, 3]
    assert all(abs(info.mtime - time.time()) < 600 for _, info in found)
    # A prefix is a string prefix, not a directory: `base` also matches `basex/`.
    every = [k for k, _ in store.list_prefix(BUCKET, base)]
    assert every == [f"{base}-other/z.txt", *names]
    assert list(store.list_prefix(BUCKET, f"{base}/nothing-here")) == []


def test_missing_object_and_bucket(store: ObjectStore, tmp_path: Path) -> None:
    assert store.stat(OssUri(BUCKET, "no/such/key.docx")) is None
    with pytest.raises(ObjectNotFound):
        store.download(OssUri(BUCKET, "no/such/key.docx"), tmp_path / "d", max_bytes=10)
    with pytest.raises(ObjectNotFound):
        store.download(OssUri("no-such-bucket-x", "k.docx"), tmp_path / "d", max_bytes=10)
    (tmp_path / "s").write_bytes(b"x")
    with pytest.raises(StorageError) as err:
        store.upload(tmp_path / "s", OssUri("no-such-bucket-x", "k.txt"))
    assert not err.value.transient


def test_too_large_is_refused_before_reading(store: ObjectStore, tmp_path: Path) -> None:
    uri = OssUri(BUCKET, key())
    (tmp_path / "s").write_bytes(b"x" * 5000)
    store.upload(tmp_path / "s", uri)
    with pytest.raises(ObjectTooLarge):
        store.download(uri, tmp_path / "d", max_bytes=4999)


def test_large_object_streams_with_bounded_memory(store: ObjectStore, tmp_path: Path) -> None:
    """40 MiB: a multipart upload (8 MiB parts above 16 MiB) and a streamed download."""
    size = 40 * MIB
    src = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with open(src, "wb") as f:
        for _ in range(size // MIB):
            block = os.urandom(MIB)
            digest.update(block)
            f.write(block)
    uri = OssUri(BUCKET, f"big/{uuid.uuid4().hex}.bin")
    tracemalloc.start()
    try:
        store.upload(src, uri)
        _, up_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        store.download(uri, tmp_path / "back.bin", max_bytes=size)
        _, down_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    back = hashlib.sha256((tmp_path / "back.bin").read_bytes()).hexdigest()
    assert back == digest.hexdigest()
    print(f"peak memory: upload {up_peak / MIB:.1f} MiB, download {down_peak / MIB:.1f} MiB")
    assert up_peak < 20 * MIB, f"upload peak {up_peak} bytes"
    assert down_peak < 8 * MIB, f"download peak {down_peak} bytes"
    if isinstance(store, S3Store):
        head = store.client.head_object(Bucket=BUCKET, Key=uri.key)
        assert head["ETag"].strip('"').endswith("-5")  # a multipart object of 5 parts
    else:
        assert oss_etag_parts(store, uri) == 5


@pytest.mark.parametrize("kind", ["s3", "oss"])
def test_failed_multipart_upload_is_aborted(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part that fails ends the upload: no object, and no parts left behind (they cost)."""
    server = request.getfixturevalue(f"{kind}_server")
    store = backend(server.backend(multipart_threshold=5 * MIB, part_size=5 * MIB))
    target = store.client if kind == "s3" else store.bucket(BUCKET)
    calls: list[object] = []
    real = target.upload_part

    def second_part_fails(*args: Any, **kwargs: Any) -> Any:
        calls.append(args or kwargs)
        if len(calls) == 2:
            raise ConnectionResetError("the network went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(target, "upload_part", second_part_fails)
    aborted = 0 if kind == "s3" else server.stats().get("AbortMultipartUpload", 0)
    uri = OssUri(BUCKET, f"aborted/{uuid.uuid4().hex}.bin")
    (tmp_path / "s").write_bytes(os.urandom(11 * MIB))
    with pytest.raises(StorageError) as err:
        store.upload(tmp_path / "s", uri)
    assert err.value.transient and "network went away" in str(err.value)
    assert store.stat(uri) is None
    if kind == "s3":
        left = store.client.list_multipart_uploads(Bucket=BUCKET, Prefix="aborted/")
        assert not left.get("Uploads")
    else:
        assert server.stats().get("AbortMultipartUpload", 0) == aborted + 1


def oss_etag_parts(store: Any, uri: OssUri) -> int:
    etag = store.bucket(uri.bucket).head_object(uri.key).etag
    return int(etag.rpartition("-")[2]) if "-" in etag else 1


# --- OSS errors (the fake checks signatures and can refuse) ---


def test_oss_wrong_secret_is_access_denied(oss_server: OssServer, tmp_path: Path) -> None:
    bad = backend(oss_server.backend(access_key_secret="wrong"))
    (tmp_path / "s").write_bytes(b"x")
    with pytest.raises(AccessDenied) as err:
        bad.upload(tmp_path / "s", OssUri(BUCKET, "x.txt"))
    assert "SignatureDoesNotMatch" in str(err.value) and not err.value.transient
    with pytest.raises(AccessDenied):
        bad.stat(OssUri(BUCKET, "x.txt"))
    bad_v4 = backend(
        oss_server.backend(access_key_secret="wrong", signature_version="v4", region="cn-hangzhou")
    )
    with pytest.raises(AccessDenied, match="SignatureDoesNotMatch"):
        bad_v4.upload(tmp_path / "s", OssUri(BUCKET, "x.txt"))
    unknown = backend(oss_server.backend(access_key_id="nobody"))
    with pytest.raises(AccessDenied, match="InvalidAccessKeyId"):
        unknown.download(OssUri(BUCKET, "x.txt"), tmp_path / "d", max_bytes=10)


def test_oss_access_denied_bucket(oss_server: OssServer, tmp_path: Path) -> None:
    store = backend(oss_server.backend())
    with pytest.raises(AccessDenied, match="AccessDenied"):
        store.download(OssUri(DENIED_BUCKET, "a.docx"), tmp_path / "d", max_bytes=10)


def test_oss_throttling_is_transient(oss_server: OssServer, tmp_path: Path) -> None:
    store = backend(oss_server.backend())
    with pytest.raises(StorageError) as err:
        store.download(OssUri(BUCKET, "slow-down/a.docx"), tmp_path / "d", max_bytes=10)
    assert err.value.transient and not isinstance(err.value, ObjectNotFound | AccessDenied)


def test_oss_broken_download_resumes_with_a_range(oss_server: OssServer, tmp_path: Path) -> None:
    store = backend(oss_server.backend())
    uri = OssUri(BUCKET, f"break-once/{uuid.uuid4().hex}.bin")
    data = os.urandom(3 * MIB + 17)
    (tmp_path / "s").write_bytes(data)
    store.upload(tmp_path / "s", uri)
    ranged = oss_server.stats().get("GetObjectRange", 0)
    store.download(uri, tmp_path / "d", max_bytes=len(data))
    assert (tmp_path / "d").read_bytes() == data
    assert oss_server.stats().get("GetObjectRange", 0) == ranged + 1


def test_connection_refused_is_transient(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for spec in (
        {"type": "s3", "endpoint_url": url, "access_key_id": "a", "secret_access_key": "b"},
        {"type": "oss", "endpoint": url, "access_key_id": "a", "access_key_secret": "b"},
    ):
        store = backend({**spec, "connect_timeout": 1})
        with pytest.raises(StorageError) as err:
            store.download(OssUri(BUCKET, "a.docx"), tmp_path / "d", max_bytes=10)
        assert err.value.transient, spec["type"]


# --- real OSS, opt-in ---


def test_real_oss(tmp_path: Path) -> None:
    env = {k: os.environ.get(f"OSS_TEST_{k}", "") for k in ("ENDPOINT", "BUCKET", "AK", "SECRET")}
    if not all(env.values()):
        pytest.skip("set OSS_TEST_ENDPOINT, OSS_TEST_BUCKET, OSS_TEST_AK, OSS_TEST_SECRET")
    store = backend(
        {
            "type": "oss",
            "endpoint": env["ENDPOINT"],
            "access_key_id": env["AK"],
            "access_key_secret": env["SECRET"],
        }
    )
    uri = OssUri(env["BUCKET"], f"imm-engine-test/{uuid.uuid4().hex}.bin")
    data = os.urandom(20 * MIB)
    (tmp_path / "s").write_bytes(data)
    store.upload(tmp_path / "s", uri)
    store.download(uri, tmp_path / "d", max_bytes=len(data))
    assert (tmp_path / "d").read_bytes() == data
    store.bucket(uri.bucket).delete_object(uri.key)  # type: ignore[attr-defined]
