"""A loopback server speaking MNS's HTTP protocol (API version 2015-06-06), for the SDK tests.

It implements the two calls imm-engine makes, PublishMessage (`POST /topics/<name>/messages`)
and SendMessage (`POST /queues/<name>/messages`), with XML bodies, and checks each request as
MNS does: the `Authorization: MNS <AccessKeyId>:<Signature>` header, where Signature is
base64(HMAC-SHA1(secret, VERB\\nContent-MD5\\nContent-Type\\nDate\\nCanonicalizedMNSHeaders
CanonicalizedResource)), the `x-mns-version` header and the body's Content-MD5. A wrong key
or signature gets MNS's 403 XML error; an unknown topic or queue a 404 (TopicNotExist /
QueueNotExist). Accepted messages are recorded with their user properties.

What it cannot prove: MNS's real authentication edge cases (STS tokens, RAM policies, clock
skew rules beyond the 15-minute check here), network behaviour across the internet, quotas
and throttling, message size limits, and what subscriptions do with a published message.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import socket
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

NS = "http://mns.aliyuncs.com/doc/v1/"


@dataclass
class MnsMessage:
    kind: str  # "topic" or "queue"
    name: str
    body: str
    tag: str
    user_properties: dict[str, tuple[str, str]]  # name -> (type, value)
    message_id: str
    headers: dict[str, str]


def string_to_sign(method: str, headers: dict[str, str], resource: str) -> str:
    """What MNS signs (lower-case header names)."""
    mns_headers = "".join(f"{k}:{headers[k]}\n" for k in sorted(headers) if k.startswith("x-mns-"))
    return "\n".join(
        [
            method,
            headers.get("content-md5", ""),
            headers.get("content-type", ""),
            headers.get("date", ""),
            mns_headers + resource,
        ]
    )


def sign(secret: str, method: str, headers: dict[str, str], resource: str) -> str:
    mac = hmac.new(secret.encode(), string_to_sign(method, headers, resource).encode(), "sha1")
    return base64.b64encode(mac.digest()).decode()


@dataclass
class MnsServer:
    access_key_id: str = "mns-ak"
    access_key_secret: str = "mns-secret"
    topics: set[str] = field(default_factory=set)
    queues: set[str] = field(default_factory=set)
    messages: list[MnsMessage] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, port: int = 0) -> MnsServer:
        handler = _handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def wait_for(self, count: int, timeout: float = 15.0) -> list[MnsMessage]:
        with self.cond:
            self.cond.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)


def _handler(state: MnsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # the SDK keeps its connection alive

        def log_message(self, *args: Any) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes: without this, Nagle's algorithm and the
            # client's delayed ACK hold every reply back by ~40 ms.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _reply(self, status: int, root: str, fields: dict[str, str]) -> None:
            children = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
            data = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{NS}">{children}</{root}>'
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/xml;charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-mns-request-id", uuid.uuid4().hex[:24].upper())
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, code: str, message: str) -> None:
            with state.cond:
                state.rejected.append(code)
            self._reply(
                status,
                "Error",
                {
                    "Code": code,
                    "Message": message,
                    "RequestId": uuid.uuid4().hex[:24].upper(),
                    "HostId": f"http://127.0.0.1:{state.port}",
                },
            )

        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            if headers.get("x-mns-version") != "2015-06-06":
                return self._error(400, "InvalidArgument", "x-mns-version must be 2015-06-06")
            auth = headers.get("authorization", "")
            if not auth.startswith("MNS ") or ":" not in auth:
                return self._error(403, "AccessDenied", "Authorization header is missing")
            key_id, signature = auth[4:].split(":", 1)
            if key_id != state.access_key_id:
                return self._error(403, "InvalidAccessKeyId", "The AccessKeyId is not found")
            expected = sign(state.access_key_secret, "POST", headers, self.path)
            if not hmac.compare_digest(signature, expected):
                return self._error(403, "SignatureDoesNotMatch", "The signature does not match")
            try:
                sent = email.utils.parsedate_to_datetime(headers.get("date", "")).timestamp()
            except (TypeError, ValueError):
                return self._error(400, "InvalidArgument", "the Date header is missing or bad")
            if abs(sent - time.time()) > 900:  # MNS allows 15 minutes of clock difference
                return self._error(403, "RequestTimeTooSkewed", "the Date is too far from now")
            # The SDK sends base64(hex MD5) of the body.
            md5 = base64.b64encode(hashlib.md5(data).hexdigest().encode()).decode()
            if headers.get("content-md5") != md5:
                return self._error(400, "InvalidArgument", "Content-MD5 does not match the body")
            parts = self.path.strip("/").split("/")
            if len(parts) != 3 or parts[0] not in ("topics", "queues") or parts[2] != "messages":
                return self._error(404, "InvalidArgument", f"unknown resource {self.path}")
            kind, name = parts[0][:-1], parts[1]
            if name not in (state.topics if kind == "topic" else state.queues):
                code = "TopicNotExist" if kind == "topic" else "QueueNotExist"
                return self._error(404, code, f"The {kind} you provided does not exist.")
            try:
                root = ET.fromstring(data)
            except ET.ParseError:
                return self._error(400, "InvalidArgument", "the body is not XML")
            if root.tag != f"{{{NS}}}Message":
                return self._error(400, "InvalidArgument", "the body is not a <Message>")
            body = root.findtext(f"{{{NS}}}MessageBody") or ""
            props = {
                (p.findtext(f"{{{NS}}}Name") or ""): (
                    p.findtext(f"{{{NS}}}Type") or "",
                    p.findtext(f"{{{NS}}}Value") or "",
                )
                for p in root.iter(f"{{{NS}}}PropertyValue")
            }
            message_id = uuid.uuid4().hex.upper()
            with state.cond:
                state.messages.append(
                    MnsMessage(
                        kind=kind,
                        name=name,
                        body=body,
                        tag=root.findtext(f"{{{NS}}}MessageTag") or "",
                        user_properties=props,
                        message_id=message_id,
                        headers=headers,
                    )
                )
                state.cond.notify_all()
            body_md5 = hashlib.md5(body.encode()).hexdigest().upper()
            self._reply(201, "Message", {"MessageId": message_id, "MessageBodyMD5": body_md5})
            return None

    return Handler
