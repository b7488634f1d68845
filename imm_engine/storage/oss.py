"""Alibaba Cloud OSS as object storage, through the official `oss2` SDK.

`oss://bucket/key` is the OSS object itself. Requests are signed with signature version 1
(oss2's default) or 4 (`"signature_version": "v4"` with `region`). Uploads above
`multipart_threshold` (16 MiB) go up through oss2's `resumable_upload` in `part_size` (8 MiB)
parts streamed from the file one at a time; the object appears only when the upload
completes, and a failed upload is aborted.

Downloads go through storage/streaming.py, shared with S3, not oss2's `resumable_download`:
that one resumes nothing below its own threshold, splits larger objects into parallel ranged
GETs and keeps checkpoint files, while the task needs the size limit checked before any byte
is read. The file is streamed in 1 MiB chunks, resumed with a ranged GET (`If-Match` the
first ETag) if the stream breaks, and checked against OSS's CRC-64.
"""

from __future__ import annotations

import email.utils
import importlib.util
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oss2
import oss2.exceptions
import oss2.utils

from imm_engine.storage import streaming
from imm_engine.storage.base import ObjectInfo, ObjectNotFound, StorageError
from imm_engine.storage.config import DEFAULT_MULTIPART_THRESHOLD, DEFAULT_PART_SIZE, BackendSpec
from imm_engine.storage.failures import Kind, classify, to_error
from imm_engine.storage.loopback import is_loopback
from imm_engine.targets.uris import OssUri

log = logging.getLogger("imm_engine.storage")

#: CRC-64 checks only with crcmod's C extension; the pure-Python fallback takes seconds per MiB.
FAST_CRC = importlib.util.find_spec("crcmod._crcfunext") is not None


class OssStore:
    def __init__(self, spec: BackendSpec) -> None:
        o = spec.options
        self.name = spec.name
        self.endpoint = str(o["endpoint"])
        self.threshold = spec.size("multipart_threshold", DEFAULT_MULTIPART_THRESHOLD)
        self.part_size = spec.size("part_size", DEFAULT_PART_SIZE)
        self.region = o.get("region")
        self.connect_timeout = float(o.get("connect_timeout", 10))
        self.path_style = bool(o.get("path_style", False))
        key_id, secret = str(o["access_key_id"]), str(spec.secret("access_key_secret"))
        token = spec.secret("security_token")
        if token:
            self.auth: Any = oss2.StsAuth(key_id, secret, token, o.get("signature_version", "v1"))
        elif o.get("signature_version") == "v4":
            self.auth = oss2.AuthV4(key_id, secret)
        else:
            self.auth = oss2.Auth(key_id, secret)
        self.session = oss2.Session()
        if is_loopback(self.endpoint):
            self.session.session.trust_env = False  # no environment proxy for 127.0.0.1
        self._buckets: dict[str, Any] = {}
        #: Keys per ListObjects page (OSS allows up to 1000).
        self.list_page_size = 1000

    def bucket(self, name: str) -> Any:
        if name not in self._buckets:
            self._buckets[name] = oss2.Bucket(
                self.auth,
                self.endpoint,
                name,
                session=self.session,
                connect_timeout=self.connect_timeout,
                region=self.region,
                is_path_style=self.path_style,
                enable_crc=FAST_CRC,
            )
        return self._buckets[name]

    def _error(self, exc: Exception, what: str) -> StorageError:
        if isinstance(exc, oss2.exceptions.OssError):
            status = int(exc.status)
            code = str(exc.code or "")
            detail = f"{self.name}: {code or status} {exc.message or ''}".strip()
            if isinstance(exc, oss2.exceptions.RequestError):
                return to_error(Kind.TRANSIENT, what, f"{self.name}: {exc.exception}")
            if isinstance(exc, oss2.exceptions.InconsistentError):
                return to_error(Kind.TRANSIENT, what, f"{self.name}: CRC mismatch")
            if isinstance(exc, oss2.exceptions.ClientError):
                return to_error(Kind.PERMANENT, what, detail)
            return to_error(classify(status, code), what, detail)
        if isinstance(exc, OSError):
            return to_error(Kind.TRANSIENT, what, f"{self.name}: {exc}")
        return to_error(Kind.PERMANENT, what, f"{self.name}: {exc}")

    def stat(self, uri: OssUri) -> ObjectInfo | None:
        try:
            head = self.bucket(uri.bucket).head_object(uri.key)
        except Exception as exc:
            err = self._error(exc, f"stat {uri}")
            if isinstance(err, ObjectNotFound):
                return None
            raise err from exc
        return ObjectInfo(size=int(head.content_length), mtime=float(head.last_modified))

    def download(self, uri: OssUri, dest: Path, *, max_bytes: int) -> ObjectInfo:
        what = f"read {uri}"
        bucket = self.bucket(uri.bucket)
        crcs: list[str] = []

        def open_at(start: int, etag: str) -> streaming.Opened:
            headers = {"If-Match": etag} if start else None
            try:
                got = bucket.get_object(
                    uri.key, byte_range=(start, None) if start else None, headers=headers
                )
            except Exception as exc:
                raise self._error(exc, what) from exc
            crcs.append(got.headers.get("x-oss-hash-crc64ecma", ""))
            size = int(got.content_length) + start
            total = str(got.headers.get("Content-Range", "")).rpartition("/")[2]
            if start and total.isdigit():
                size = int(total)
            resp = got.resp.response  # the requests response: read it raw, in chunks

            return streaming.Opened(
                size=size,
                etag=str(got.headers.get("ETag", "")),
                mtime=_http_time(got.headers.get("Last-Modified", "")),
                # requests refuses to iterate an empty body that urllib3 already closed
                chunks=resp.iter_content(streaming.CHUNK) if size > start else iter(()),
                close=resp.close,
            )

        size, mtime = streaming.download_to(
            str(uri), dest, max_bytes, open_at, lambda e: isinstance(e, OSError | IOError)
        )
        server_crc = crcs[0] if crcs else ""
        if FAST_CRC and server_crc.isdigit() and _crc64_file(dest) != int(server_crc):
            raise StorageError(f"{what}: the data does not match OSS's CRC-64", transient=True)
        return ObjectInfo(size=size, mtime=mtime)

    def upload(self, src: Path, uri: OssUri) -> None:
        """One PutObject up to the threshold, else oss2's resumable (multipart) upload, whose
        checkpoint lives only for this call: a failed upload is aborted, not left to resume."""
        bucket = self.bucket(uri.bucket)
        checkpoint = _Checkpoint()
        try:
            oss2.resumable_upload(
                bucket,
                uri.key,
                str(src),
                store=checkpoint,
                multipart_threshold=self.threshold + 1,  # oss2: multipart from the threshold on
                part_size=self.part_size,
                num_threads=1,
            )
        except Exception as exc:
            for upload_id in (record["upload_id"] for record in checkpoint.records.values()):
                try:
                    bucket.abort_multipart_upload(uri.key, upload_id)
                except Exception as abort_exc:
                    log.warning(
                        "%s: cannot abort multipart upload %s: %s", uri, upload_id, abort_exc
                    )
            raise self._error(exc, f"write {uri}") from exc

    def delete(self, uri: OssUri) -> None:
        try:
            self.bucket(uri.bucket).delete_object(uri.key)  # absent: 204 as well
        except Exception as exc:
            raise self._error(exc, f"delete {uri}") from exc

    def list_prefix(self, bucket: str, prefix: str) -> Iterator[tuple[str, ObjectInfo]]:
        """Objects whose key starts with `prefix`, in key order (OSS ListObjects pages);
        zero-byte "directory" placeholders (keys ending in `/`) are skipped."""
        try:
            for obj in oss2.ObjectIterator(
                self.bucket(bucket), prefix=prefix, max_keys=self.list_page_size
            ):
                if obj.key.endswith("/") and not obj.size:
                    continue
                yield obj.key, ObjectInfo(size=int(obj.size), mtime=float(obj.last_modified))
        except Exception as exc:
            raise self._error(exc, f"list oss://{bucket}/{prefix}") from exc


class _Checkpoint:
    """oss2's resumable-upload record store (get, put, delete, make_store_key), in memory: it
    holds the upload id of a multipart upload begun and not completed. (Not a dict: oss2
    takes an empty store for none and falls back to checkpoint files in the home directory.)"""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}

    @staticmethod
    def make_store_key(bucket: str, key: str, filename: str, *_: str) -> str:
        return f"{bucket}/{key}"

    def get(self, key: str) -> dict[str, Any] | None:
        return self.records.get(key)

    def put(self, key: str, value: dict[str, Any]) -> None:
        self.records[key] = value

    def delete(self, key: str) -> None:
        self.records.pop(key, None)


def _http_time(value: str) -> float:
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return 0.0


def _crc64_file(path: Path) -> int:
    crc = oss2.utils.Crc64(0)
    with open(path, "rb") as f:
        while block := f.read(streaming.CHUNK):
            crc.update(block)
    return int(crc.crc)
