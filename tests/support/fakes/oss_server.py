"""A loopback stand-in for Alibaba Cloud OSS, for testing the real `oss2` SDK against.

It speaks the parts of the OSS REST API imm-engine uses, path-style
(`http://127.0.0.1:<port>/<bucket>/<key>`): HeadObject, GetObject (with `Range` and
`If-Match`), PutObject, InitiateMultipartUpload, UploadPart, CompleteMultipartUpload and
AbortMultipartUpload. Every request must carry a valid OSS signature, version 1
(`Authorization: OSS <ak>:<base64 HMAC-SHA1(secret, VERB\\nContent-MD5\\nContent-Type\\nDate\\n
CanonicalizedOSSHeaders CanonicalizedResource)>`) or version 4 (`OSS4-HMAC-SHA256`), and a
`Date` / `x-oss-date` within 15 minutes; otherwise it answers 403 like OSS
(`InvalidAccessKeyId`, `SignatureDoesNotMatch`, `RequestTimeTooSkewed`). Errors are OSS's XML
(and the `x-oss-err` header for HEAD). Objects are files under `--root`, buckets are its
directories, so memory stays small whatever the object size.

Test hooks: buckets named in `--deny` answer 403 `AccessDenied`; the first full GET of a key
containing `break-once` is cut off half-way (to exercise resumed ranged reads); keys
containing `slow-down` answer 503 `ServiceUnavailable`.

Run: python -m tests.support.fakes.oss_server --port P --root DIR --ak ID --secret S [--deny BUCKET]
"""

from __future__ import annotations

import argparse
import base64
import email.utils
import hashlib
import hmac
import os
import re
import shutil
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from xml.sax.saxutils import escape

import crcmod

_crc64 = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, xorOut=0xFFFFFFFFFFFFFFFF, rev=True)
SUBRESOURCES = frozenset(
    {"acl", "uploadId", "uploads", "partNumber", "append", "position", "security-token",
     "response-content-type", "response-content-disposition", "x-oss-process", "versionId",
     "tagging", "symlink", "restore", "continuation-token"}
)  # fmt: skip
MAX_SKEW_S = 900
CHUNK = 1024 * 1024
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided."
)


def _iso(path: Path) -> str:
    stamp = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def crc64_file(path: Path) -> int:
    crc = 0
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            crc = _crc64(block, crc)
    return crc


class OssError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class FakeOss:
    def __init__(self, root: Path, keys: dict[str, str], deny: set[str]) -> None:
        self.root = root
        self.keys = keys
        self.deny = deny
        self.broken: set[str] = set()
        self.lock = threading.Lock()
        self.uploads = root / ".uploads"
        self.uploads.mkdir(parents=True, exist_ok=True)
        #: request counts by operation, for tests to read back (GET /-/stats)
        self.stats: dict[str, int] = {}

    def count(self, op: str) -> None:
        with self.lock:
            self.stats[op] = self.stats.get(op, 0) + 1


def make_handler(oss: FakeOss) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_HEAD(self) -> None:
            self.dispatch("HEAD")

        def do_GET(self) -> None:
            self.dispatch("GET")

        def do_PUT(self) -> None:
            self.dispatch("PUT")

        def do_POST(self) -> None:
            self.dispatch("POST")

        def do_DELETE(self) -> None:
            self.dispatch("DELETE")

        # --- plumbing ---

        def dispatch(self, method: str) -> None:
            self.request_id = uuid.uuid4().hex.upper()[:24]
            self.body_read = False
            url = urlsplit(self.path)
            self.params = dict(parse_qsl(url.query, keep_blank_values=True))
            if url.path == "/-/stats":
                body = repr(oss.stats).encode()
                return self.reply(200, body, {"content-type": "text/plain"})
            path = unquote(url.path)
            bucket, _, key = path.lstrip("/").partition("/")
            self.bucket, self.key = bucket, key
            self.body_read = False
            try:
                self.authenticate(method, url)
                if bucket in oss.deny:
                    raise OssError(403, "AccessDenied", "You have no right to access this object.")
                if not (oss.root / bucket).is_dir() or bucket.startswith("."):
                    raise OssError(404, "NoSuchBucket", "The specified bucket does not exist.")
                if "slow-down" in key:
                    raise OssError(503, "ServiceUnavailable", "Please reduce your request rate.")
                self.route(method)
            except OssError as err:
                self.error(err)

        def route(self, method: str) -> None:
            p = self.params
            if method == "GET" and not self.key:
                return self.list_objects()
            if method == "HEAD" and self.key:
                return self.head_object()
            if method == "GET" and "uploadId" in p:
                return self.list_parts()
            if method == "GET" and self.key:
                return self.get_object()
            if method == "PUT" and "partNumber" in p and "uploadId" in p:
                return self.upload_part()
            if method == "PUT" and self.key:
                return self.put_object()
            if method == "POST" and "uploads" in p:
                return self.initiate()
            if method == "POST" and "uploadId" in p:
                return self.complete()
            if method == "DELETE" and "uploadId" in p:
                return self.abort()
            if method == "DELETE" and self.key:
                return self.delete_object()
            raise OssError(405, "MethodNotAllowed", f"{method} is not supported by this fake")

        def list_objects(self) -> None:
            """GetBucket (ListObjects, version 1): prefix, marker and max-keys paging."""
            p = self.params
            prefix, marker = p.get("prefix", ""), p.get("marker", "")
            max_keys = int(p.get("max-keys") or 100)
            top = oss.root / self.bucket
            keys = sorted(
                f.relative_to(top).as_posix()
                for f in top.rglob("*")
                if f.is_file() and not f.name.endswith(".imm-meta")
            )
            chosen = [k for k in keys if k.startswith(prefix) and k > marker]
            page, more = chosen[:max_keys], len(chosen) > max_keys
            items = "".join(
                f"<Contents><Key>{escape(k)}</Key>"
                f"<LastModified>{_iso(top / k)}</LastModified>"
                f"<ETag>&quot;{hashlib.md5(k.encode()).hexdigest().upper()}&quot;</ETag>"
                f"<Type>Normal</Type>"
                f"<Size>{(top / k).stat().st_size}</Size>"
                f"<StorageClass>Standard</StorageClass></Contents>"
                for k in page
            )
            xml = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult>'
                f"<Name>{escape(self.bucket)}</Name><Prefix>{escape(prefix)}</Prefix>"
                f"<Marker>{escape(marker)}</Marker><MaxKeys>{max_keys}</MaxKeys>"
                f"<Delimiter></Delimiter><IsTruncated>{'true' if more else 'false'}</IsTruncated>"
                + (f"<NextMarker>{escape(page[-1])}</NextMarker>" if more else "")
                + f"{items}</ListBucketResult>"
            ).encode()
            oss.count("ListObjects")
            self.reply(200, xml, {"content-type": "application/xml"})

        def delete_object(self) -> None:
            """DeleteObject: 204 whether or not the object existed (as OSS answers)."""
            path = self.object_path()
            path.unlink(missing_ok=True)
            path.with_name(path.name + ".imm-meta").unlink(missing_ok=True)
            oss.count("DeleteObject")
            self.reply(204)

        def object_path(self) -> Path:
            if not self.key or self.key.startswith("/") or ".." in self.key.split("/"):
                raise OssError(400, "InvalidObjectName", "The object name is invalid.")
            return oss.root / self.bucket / self.key

        def reply(
            self, status: int, body: bytes = b"", headers: dict[str, str] | None = None
        ) -> None:
            if not self.body_read:
                self.drain()
            self.send_response(status)
            self.send_header("x-oss-request-id", self.request_id)
            self.send_header("server", "AliyunOSS")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if "content-length" not in {k.lower() for k in (headers or {})}:
                self.send_header("content-length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def error(self, err: OssError) -> None:
            xml = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
                f"<Code>{err.code}</Code><Message>{err.message}</Message>"
                f"<RequestId>{self.request_id}</RequestId><HostId>127.0.0.1</HostId>"
                f"<EC>0000-00000000</EC></Error>"
            ).encode()
            headers = {"content-type": "application/xml"}
            if self.command == "HEAD":
                headers["x-oss-err"] = base64.b64encode(xml).decode()
            self.reply(err.status, xml, headers)

        def drain(self) -> None:
            self.body_read = True
            for _ in self.body_chunks():
                pass

        def body_chunks(self) -> Any:
            self.body_read = True
            if self.headers.get("transfer-encoding", "").lower() == "chunked":
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return
                    left = size
                    while left:
                        block = self.rfile.read(min(left, CHUNK))
                        left -= len(block)
                        yield block
                    self.rfile.readline()
            left = int(self.headers.get("content-length") or 0)
            while left > 0:
                block = self.rfile.read(min(left, CHUNK))
                if not block:
                    raise ConnectionError("client went away")
                left -= len(block)
                yield block

        def receive(self, dest: Path) -> tuple[str, int]:
            md5 = hashlib.md5()
            crc = 0
            with open(dest, "wb") as out:
                for block in self.body_chunks():
                    md5.update(block)
                    crc = _crc64(block, crc)
                    out.write(block)
            want = self.headers.get("content-md5")
            if want and base64.b64encode(md5.digest()).decode() != want:
                dest.unlink()
                raise OssError(400, "InvalidDigest", "The Content-MD5 you specified is invalid.")
            return md5.hexdigest().upper(), crc

        # --- signatures ---

        def authenticate(self, method: str, url: Any) -> None:
            auth = self.headers.get("authorization", "")
            if auth.startswith("OSS4-HMAC-SHA256 "):
                return self.check_v4(method, url, auth)
            m = re.fullmatch(r"OSS ([^:]+):(.+)", auth)
            if not m:
                raise OssError(
                    403, "AccessDenied", "Anonymous access is forbidden for this operation."
                )
            ak, signature = m.groups()
            secret = self.secret_of(ak)
            date = self.headers.get("x-oss-date") or self.headers.get("date", "")
            self.check_skew(email.utils.parsedate_to_datetime(date).timestamp() if date else 0)
            oss_headers = sorted(
                (k.lower(), v) for k, v in self.headers.items() if k.lower().startswith("x-oss-")
            )
            canon_headers = "".join(f"{k}:{v}\n" for k, v in oss_headers)
            sub = sorted((k, v) for k, v in self.params.items() if k in SUBRESOURCES)
            resource = f"/{self.bucket}/{self.key}" if self.bucket else "/"
            if sub:
                resource += "?" + "&".join(f"{k}={v}" if v else k for k, v in sub)
            to_sign = "\n".join(
                [
                    method,
                    self.headers.get("content-md5", ""),
                    self.headers.get("content-type", ""),
                    date,
                    canon_headers + resource,
                ]
            )
            mac = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha1).digest()
            if not hmac.compare_digest(base64.b64encode(mac).decode(), signature):
                raise OssError(
                    403,
                    "SignatureDoesNotMatch",
                    SIGNATURE_MISMATCH,
                )

        def check_v4(self, method: str, url: Any, auth: str) -> None:
            fields = dict(
                part.strip().split("=", 1) for part in auth[len("OSS4-HMAC-SHA256 ") :].split(",")
            )
            ak, date, region, product, terminal = fields["Credential"].split("/")
            secret = self.secret_of(ak)
            stamp = self.headers.get("x-oss-date", "")
            self.check_skew(time.mktime(time.strptime(stamp, "%Y%m%dT%H%M%SZ")) - time.timezone)
            additional = [h for h in fields.get("AdditionalHeaders", "").split(";") if h]
            signed = sorted(
                (k.lower(), v.strip())
                for k, v in self.headers.items()
                if k.lower().startswith("x-oss-")
                or k.lower() in ("content-type", "content-md5")
                or k.lower() in additional
            )

            def enc(s: str, slash: bool) -> str:
                return quote(s, safe="-_.~" + ("/" if slash else ""))

            query = "&".join(
                f"{enc(k, False)}={enc(v, False)}" if v else enc(k, False)
                for k, v in sorted((enc(k, False), v) for k, v in self.params.items())
            )
            canonical = "\n".join(
                [
                    method,
                    enc(f"/{self.bucket}/{self.key}" if self.bucket else "/", True),
                    query,
                    "".join(f"{k}:{v}\n" for k, v in signed),
                    ";".join(sorted(additional)),
                    self.headers.get("x-oss-content-sha256", "UNSIGNED-PAYLOAD"),
                ]
            )
            scope = f"{date}/{region}/{product}/{terminal}"
            to_sign = "\n".join(
                ["OSS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
            )
            key = ("aliyun_v4" + secret).encode()
            for part in (date, region, product, "aliyun_v4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            mac = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(mac, fields.get("Signature", "")):
                raise OssError(
                    403,
                    "SignatureDoesNotMatch",
                    SIGNATURE_MISMATCH,
                )

        def secret_of(self, ak: str) -> str:
            secret = oss.keys.get(ak)
            if secret is None:
                raise OssError(
                    403,
                    "InvalidAccessKeyId",
                    "The OSS Access Key Id you provided does not exist in our records.",
                )
            return secret

        def check_skew(self, ts: float) -> None:
            if abs(time.time() - ts) > MAX_SKEW_S:
                raise OssError(
                    403,
                    "RequestTimeTooSkewed",
                    "The difference between the request time and the current time is too large.",
                )

        # --- operations ---

        def meta_headers(self, path: Path) -> dict[str, str]:
            st = path.stat()
            meta = path.with_name(path.name + ".imm-meta")
            if meta.exists():
                etag, crc = meta.read_text().split()
            else:  # put there by a test, not through the API
                with open(path, "rb") as f:
                    etag = hashlib.file_digest(f, "md5").hexdigest().upper()
                crc = str(crc64_file(path))
            return {
                "etag": f'"{etag}"',
                "last-modified": email.utils.formatdate(st.st_mtime, usegmt=True),
                "x-oss-hash-crc64ecma": crc,
                "x-oss-object-type": "Normal",
                "content-type": "application/octet-stream",
                "accept-ranges": "bytes",
            }

        def existing(self) -> Path:
            path = self.object_path()
            if not path.is_file():
                raise OssError(404, "NoSuchKey", "The specified key does not exist.")
            return path

        def head_object(self) -> None:
            oss.count("HeadObject")
            path = self.existing()
            headers = self.meta_headers(path)
            headers["content-length"] = str(path.stat().st_size)
            self.reply(200, b"", headers)

        def get_object(self) -> None:
            oss.count("GetObject")
            path = self.existing()
            headers = self.meta_headers(path)
            size = path.stat().st_size
            if_match = self.headers.get("if-match")
            if if_match and if_match.strip('"') != headers["etag"].strip('"'):
                raise OssError(
                    412,
                    "PreconditionFailed",
                    "At least one of the pre-conditions you specified did not hold.",
                )
            start, end, status = 0, size - 1, 200
            rng = self.headers.get("range", "")
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng)
            if m and int(m.group(1)) < size:
                oss.count("GetObjectRange")
                start = int(m.group(1))
                end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
                status = 206
                headers["content-range"] = f"bytes {start}-{end}/{size}"
            length = end - start + 1 if size else 0
            headers["content-length"] = str(length)
            cut = None
            if status == 200 and "break-once" in self.key and size > 1:
                with oss.lock:
                    if self.key not in oss.broken:
                        oss.broken.add(self.key)
                        cut = size // 2
            self.drain()
            self.send_response(status)
            self.send_header("x-oss-request-id", self.request_id)
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            sent = 0
            with open(path, "rb") as f:
                f.seek(start)
                while sent < length:
                    block = f.read(min(CHUNK, length - sent))
                    if cut is not None and sent + len(block) > cut:
                        self.wfile.write(block[: cut - sent])
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    self.wfile.write(block)
                    sent += len(block)

        def put_object(self) -> None:
            oss.count("PutObject")
            path = self.object_path()
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = oss.uploads / f"put-{uuid.uuid4().hex}"
            etag, crc = self.receive(tmp)
            (path.parent / (path.name + ".imm-meta")).write_text(f"{etag} {crc}")
            os.replace(tmp, path)
            self.reply(200, b"", {"etag": f'"{etag}"', "x-oss-hash-crc64ecma": str(crc)})

        def upload_dir(self) -> Path:
            d = oss.uploads / self.params["uploadId"]
            if not re.fullmatch(r"[0-9A-F]{32}", self.params["uploadId"]) or not d.is_dir():
                raise OssError(404, "NoSuchUpload", "The specified upload does not exist.")
            return d

        def initiate(self) -> None:
            oss.count("InitiateMultipartUpload")
            self.object_path()
            upload_id = uuid.uuid4().hex.upper()
            (oss.uploads / upload_id).mkdir()
            (oss.uploads / upload_id / "target").write_text(f"{self.bucket}/{self.key}")
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult>'
                f"<Bucket>{self.bucket}</Bucket><Key>{self.key}</Key>"
                f"<UploadId>{upload_id}</UploadId></InitiateMultipartUploadResult>"
            ).encode()
            self.reply(200, body, {"content-type": "application/xml"})

        def upload_part(self) -> None:
            oss.count("UploadPart")
            d = self.upload_dir()
            number = int(self.params["partNumber"])
            if not 1 <= number <= 10000:
                raise OssError(400, "InvalidArgument", "Part number must be 1-10000.")
            etag, crc = self.receive(d / f"part-{number:05d}")
            (d / f"part-{number:05d}.etag").write_text(etag)
            self.reply(200, b"", {"etag": f'"{etag}"', "x-oss-hash-crc64ecma": str(crc)})

        def list_parts(self) -> None:
            """ListParts: the parts uploaded so far, by number (part-number-marker paging)."""
            oss.count("ListParts")
            d = self.upload_dir()
            marker = int(self.params.get("part-number-marker") or 0)
            most = int(self.params.get("max-parts") or 1000)
            numbers = sorted(int(f.name[5:10]) for f in d.glob("part-?????.etag"))
            chosen = [n for n in numbers if n > marker]
            page, more = chosen[:most], len(chosen) > most
            parts = "".join(
                f"<Part><PartNumber>{n}</PartNumber>"
                f"<LastModified>{_iso(d / f'part-{n:05d}')}</LastModified>"
                f'<ETag>"{(d / f"part-{n:05d}.etag").read_text()}"</ETag>'
                f"<Size>{(d / f'part-{n:05d}').stat().st_size}</Size></Part>"
                for n in page
            )
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<ListPartsResult>'
                f"<Bucket>{self.bucket}</Bucket><Key>{escape(self.key)}</Key>"
                f"<UploadId>{self.params['uploadId']}</UploadId>"
                f"<NextPartNumberMarker>{page[-1] if page else marker}</NextPartNumberMarker>"
                f"<MaxParts>{most}</MaxParts><IsTruncated>{str(more).lower()}</IsTruncated>"
                f"{parts}</ListPartsResult>"
            ).encode()
            self.reply(200, body, {"content-type": "application/xml"})

        def complete(self) -> None:
            oss.count("CompleteMultipartUpload")
            d = self.upload_dir()
            body = b"".join(self.body_chunks())
            root = ET.fromstring(body)
            parts = [
                (int(p.findtext("PartNumber", "0")), (p.findtext("ETag") or "").strip('"'))
                for p in root.findall("Part")
            ]
            if not parts or [n for n, _ in parts] != sorted(n for n, _ in parts):
                raise OssError(
                    400, "InvalidPartOrder", "The list of parts was not in ascending order."
                )
            path = self.object_path()
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = oss.uploads / f"complete-{uuid.uuid4().hex}"
            md5s = b""
            with open(tmp, "wb") as out:
                for number, etag in parts:
                    part = d / f"part-{number:05d}"
                    if not part.exists() or (d / f"part-{number:05d}.etag").read_text() != etag:
                        tmp.unlink()
                        raise OssError(
                            400, "InvalidPart", f"Part {number} is missing or its ETag differs."
                        )
                    md5s += bytes.fromhex(etag)
                    with open(part, "rb") as f:
                        shutil.copyfileobj(f, out, CHUNK)
            etag = f"{hashlib.md5(md5s).hexdigest().upper()}-{len(parts)}"
            crc = crc64_file(tmp)
            (path.parent / (path.name + ".imm-meta")).write_text(f"{etag} {crc}")
            os.replace(tmp, path)
            shutil.rmtree(d)
            xml = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult>'
                f"<Location>http://127.0.0.1/{self.bucket}/{self.key}</Location>"
                f"<Bucket>{self.bucket}</Bucket><Key>{self.key}</Key>"
                f'<ETag>"{etag}"</ETag></CompleteMultipartUploadResult>'
            ).encode()
            self.reply(
                200,
                xml,
                {
                    "content-type": "application/xml",
                    "x-oss-hash-crc64ecma": str(crc),
                    "etag": f'"{etag}"',
                },
            )

        def abort(self) -> None:
            oss.count("AbortMultipartUpload")
            shutil.rmtree(self.upload_dir())
            self.reply(204)

    return Handler


def serve(port: int, root: Path, keys: dict[str, str], deny: set[str]) -> ThreadingHTTPServer:
    oss = FakeOss(root, keys, deny)
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(oss))
    server.daemon_threads = True
    return server


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--root", type=Path, required=True)
    ap.add_argument("--ak", required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--deny", action="append", default=[])
    args = ap.parse_args()
    args.root.mkdir(parents=True, exist_ok=True)
    server = serve(args.port, args.root, {args.ak: args.secret}, set(args.deny))
    print(f"fake OSS on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
