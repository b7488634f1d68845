"""An S3-compatible service (MinIO, Ceph RGW, AWS S3) as object storage, through boto3.

`oss://bucket/key` is the object `key` in the S3 bucket `bucket`. Uploads go through boto3's
transfer manager: above `multipart_threshold` (16 MiB) in `part_size` (8 MiB) parts streamed
from the file one at a time; the object appears only when the upload completes (an S3 PUT and
a completed multipart upload are atomic) and a failed multipart upload is aborted.

Downloads go through storage/streaming.py, shared with OSS, not the transfer manager's:
the task's size limit is checked on the GET's own answer before any byte is written, the file
is streamed in 1 MiB chunks and a broken stream resumes with a ranged GET (`If-Match` the
first ETag).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.config import Config

from imm_engine.storage import streaming
from imm_engine.storage.base import ObjectInfo, ObjectNotFound, StorageError
from imm_engine.storage.config import DEFAULT_MULTIPART_THRESHOLD, DEFAULT_PART_SIZE, BackendSpec
from imm_engine.storage.failures import Kind, classify, to_error
from imm_engine.storage.loopback import is_loopback
from imm_engine.targets.uris import OssUri


class S3Store:
    def __init__(self, spec: BackendSpec) -> None:
        o = spec.options
        self.name = spec.name
        self.transfer = TransferConfig(
            # s3transfer goes multipart from the threshold on; ours from just above it.
            multipart_threshold=spec.size("multipart_threshold", DEFAULT_MULTIPART_THRESHOLD) + 1,
            multipart_chunksize=spec.size("part_size", DEFAULT_PART_SIZE),
            # One part at a time, in this thread, as the parts are read from the file; never the
            # CRT client (another multipart implementation) even where awscrt is installed.
            use_threads=False,
            preferred_transfer_client="classic",
        )
        config = Config(
            connect_timeout=float(o.get("connect_timeout", 10)),
            read_timeout=60,
            retries={"max_attempts": 3, "mode": "standard"},
            s3={"addressing_style": o.get("addressing_style", "path")},
            # Checksums only when the operation requires them: MinIO and Ceph releases differ
            # in which of the newer flexible checksums they accept.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            # Proxies from the environment, except for an endpoint on this machine.
            proxies={} if is_loopback(o.get("endpoint_url") or "") else None,
        )
        self.client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=o.get("endpoint_url"),
            region_name=o.get("region") or "us-east-1",
            aws_access_key_id=o.get("access_key_id"),
            aws_secret_access_key=spec.secret("secret_access_key"),
            aws_session_token=spec.secret("session_token"),
            verify=o.get("verify", True),
            config=config,
        )
        #: Keys per ListObjectsV2 page (S3 allows up to 1000).
        self.list_page_size = 1000

    def _error(self, exc: Exception, what: str) -> StorageError:
        if isinstance(exc, botocore.exceptions.ClientError):
            err = exc.response.get("Error", {})
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            code = str(err.get("Code", ""))
            detail = f"{self.name}: {code or status} {err.get('Message', '')}".strip()
            return to_error(classify(status, code), what, detail)
        if isinstance(exc, botocore.exceptions.NoCredentialsError):
            return to_error(Kind.DENIED, what, f"{self.name}: no credentials configured")
        if isinstance(exc, botocore.exceptions.BotoCoreError | OSError):
            return to_error(Kind.TRANSIENT, what, f"{self.name}: {exc}")
        return to_error(Kind.PERMANENT, what, f"{self.name}: {exc}")

    def delete(self, uri: OssUri) -> None:
        try:
            self.client.delete_object(Bucket=uri.bucket, Key=uri.key)  # absent: 204 as well
        except Exception as exc:
            raise self._error(exc, f"delete {uri}") from exc

    def list_prefix(self, bucket: str, prefix: str) -> Iterator[tuple[str, ObjectInfo]]:
        """Objects whose key starts with `prefix`, in key order (ListObjectsV2 pages);
        zero-byte "directory" placeholders (keys ending in `/`) are skipped."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": self.list_page_size}
        )
        try:
            for page in pages:
                for obj in page.get("Contents", ()):
                    key, size = str(obj["Key"]), int(obj["Size"])
                    if key.endswith("/") and not size:
                        continue
                    yield key, ObjectInfo(size=size, mtime=obj["LastModified"].timestamp())
        except Exception as exc:
            raise self._error(exc, f"list oss://{bucket}/{prefix}") from exc

    def stat(self, uri: OssUri) -> ObjectInfo | None:
        try:
            head = self.client.head_object(Bucket=uri.bucket, Key=uri.key)
        except Exception as exc:
            err = self._error(exc, f"stat {uri}")
            if isinstance(err, ObjectNotFound):
                return None
            raise err from exc
        return ObjectInfo(size=int(head["ContentLength"]), mtime=head["LastModified"].timestamp())

    def download(self, uri: OssUri, dest: Path, *, max_bytes: int) -> ObjectInfo:
        what = f"read {uri}"

        def open_at(start: int, etag: str) -> streaming.Opened:
            args: dict[str, Any] = {"Bucket": uri.bucket, "Key": uri.key}
            if start:
                args.update(Range=f"bytes={start}-", IfMatch=etag)
            try:
                got = self.client.get_object(**args)
            except Exception as exc:
                raise self._error(exc, what) from exc
            body = got["Body"]
            size = int(got["ContentLength"]) + start
            if start:
                total = str(got.get("ContentRange", "")).rpartition("/")[2]
                size = int(total) if total.isdigit() else size
            return streaming.Opened(
                size=size,
                etag=str(got.get("ETag", "")),
                mtime=got["LastModified"].timestamp(),
                chunks=body.iter_chunks(streaming.CHUNK),
                close=body.close,
            )

        size, mtime = streaming.download_to(
            str(uri),
            dest,
            max_bytes,
            open_at,
            lambda e: isinstance(e, botocore.exceptions.BotoCoreError | OSError),
        )
        return ObjectInfo(size=size, mtime=mtime)

    def upload(self, src: Path, uri: OssUri) -> None:
        """boto3's transfer manager: one PutObject up to the threshold, else a multipart
        upload that it aborts itself if a part or the completion fails."""
        try:
            with create_transfer_manager(self.client, self.transfer) as manager:
                manager.upload(str(src), uri.bucket, uri.key).result()
        except Exception as exc:
            raise self._error(exc, f"write {uri}") from exc
