"""The MNS HTTP endpoint: routes for `/queues…` and `/topics…`, mounted next to IMM's `POST /`
on the API port (imm_engine/api/app.py) or served alone (`imm-engine mns`).

Every request is signed (`Authorization: MNS <AccessKeyId>:<Signature>`, checked against the
same AccessKeys as the IMM API), its body bounded, its XML parsed safely; answers are MNS's
XML, errors MNS's `<Error>` document with its code and HTTP status.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from urllib.parse import unquote

import redis
import redis.asyncio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from imm_engine.metrics import registry
from imm_engine.mns import signature, wire
from imm_engine.mns.attributes import check_name
from imm_engine.mns.call import Call, Reply
from imm_engine.mns.errors import MnsError, internal_error, service_unavailable
from imm_engine.mns.keys import MnsKeys
from imm_engine.mns.longpoll import receive
from imm_engine.mns.operations import Operations, operation_name
from imm_engine.mns.queues import QueueStore
from imm_engine.mns.topics import TopicStore
from imm_engine.settings import Settings
from imm_engine.state import connection

log = logging.getLogger("imm_engine.mns")

VERSION = "2015-06-06"
XML = "text/xml;charset=utf-8"
#: A batch of 16 messages of 64 KiB, plus the XML around them.
MAX_REQUEST_BYTES = 16 * 65536 + 64 * 1024
METHODS = ["GET", "PUT", "POST", "DELETE"]
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]


def parse_query(raw: bytes) -> dict[str, str]:
    """The query as MNS reads it: names case-insensitive, `%xx` decoded, `+` kept (receipt
    handles travel unencoded)."""
    query: dict[str, str] = {}
    for item in raw.decode("utf-8", "replace").split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        query.setdefault(unquote(name).lower(), unquote(value))
    return query


def request_id() -> str:
    return uuid.uuid4().hex[:24].upper()


class MnsEndpoint:
    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        keys = MnsKeys(settings.key_prefix)
        self.settings = settings
        self.queues = QueueStore(client, keys)
        self.ops = Operations(
            self.queues, TopicStore(client, keys, self.queues), settings.account_id
        )
        # Long polls block on their own connections: no socket timeout shorter than a wait.
        self.waiter = connection.connect_async(
            settings.redis_url,
            sentinel_password=settings.redis_sentinel_password.get_secret_value(),
            socket_timeout=60,
            socket_connect_timeout=2,
        )

    async def serve(self, request: Request) -> Response:
        started = time.monotonic()
        response = await self._answer(request)
        parts = request.url.path.strip("/").split("/")
        probe = Call(request.method, parts[0], tuple(parts[1:]), {}, {}, b"", "")
        registry.api_request(
            operation_name(probe), response.status_code, time.monotonic() - started
        )
        return response

    async def _answer(self, request: Request) -> Response:
        rid = request_id()
        host = request.headers.get("host", "")[:256]
        try:
            reply = await self._serve(request)
        except MnsError as err:
            return self._error(err, rid, host)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            log.warning("MNS: Redis unavailable: %s", exc)
            return self._error(service_unavailable(), rid, host)
        except Exception:
            log.exception("MNS request %s failed", rid)
            return self._error(internal_error(), rid, host)
        headers = {"x-mns-request-id": rid, "x-mns-version": VERSION, **reply.headers}
        if reply.body:
            return Response(reply.body, reply.status, headers=headers, media_type=XML)
        return Response(status_code=reply.status, headers=headers)

    async def _serve(self, request: Request) -> Reply:
        if request.method not in METHODS:
            raise MnsError("MethodNotAllowed", f"{request.method[:16]} is not allowed.", 405)
        body = await _read_body(request)
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        raw_query: bytes = request.scope.get("query_string", b"")
        raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
        resource = raw_path.decode("utf-8", "replace")
        if raw_query:
            resource += "?" + raw_query.decode("utf-8", "replace")
        signature.verify(
            request.method,
            headers,
            resource,
            self.settings.plain_access_keys(),
            time.time(),
            self.settings.signature_max_skew_s,
        )
        version = headers.get("x-mns-version", VERSION)
        if version != VERSION:
            raise MnsError("InvalidArgument", f"x-mns-version must be {VERSION}.", 400)
        path = request.url.path.strip("/").split("/")
        _check_names(path)
        scheme = request.url.scheme
        call = Call(
            method=request.method,
            kind=path[0],
            parts=tuple(path[1:]),
            query=parse_query(raw_query),
            headers=headers,
            body=body,
            base_url=f"{scheme}://{headers.get('host', '')}",
        )
        if (
            call.method == "GET"
            and len(call.parts) == 2
            and call.kind == "queues"
            and call.parts[1] == "messages"
            and call.param("peekonly") != "true"
        ):
            return await receive(call, self.queues, self.waiter, request.is_disconnected)
        return await run_in_threadpool(self.ops.handle, call)

    def _error(self, err: MnsError, rid: str, host: str) -> Response:
        body = wire.error_document(err.code, err.message, rid, f"http://{host}")
        headers = {"x-mns-request-id": rid, "x-mns-version": VERSION}
        return Response(body, err.status, headers=headers, media_type=XML)

    async def close(self) -> None:
        await self.waiter.aclose()


def _check_names(path: list[str]) -> None:
    """The queue, topic and subscription names in the path, before they reach a Redis key."""
    if len(path) > 1:
        check_name(path[0][:-1], path[1])
    if len(path) > 3 and path[0] == "topics" and path[2] == "subscriptions":
        check_name("subscription", path[3])


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_REQUEST_BYTES:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large() -> MnsError:
    return MnsError(
        "InvalidArgument",
        f"The request body is larger than {MAX_REQUEST_BYTES} bytes (MNS messages are at most "
        "64 KiB, 16 to a batch).",
        413,
    )


def mns_routes(endpoint: MnsEndpoint) -> list[BaseRoute]:
    """The MNS resources, to put before a catch-all route."""
    return [
        Route(path, endpoint.serve, methods=ALL_METHODS)
        for path in ("/queues", "/queues/{rest:path}", "/topics", "/topics/{rest:path}")
    ]


def _closing(endpoint: MnsEndpoint) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await endpoint.close()

    return lifespan


def create_mns_app(settings: Settings, client: redis.Redis) -> Starlette:
    """MNS alone (`imm-engine mns`): its routes, /healthz, and MNS errors for anything else."""
    endpoint = MnsEndpoint(settings, client)

    async def healthz(request: Request) -> Response:
        try:
            await run_in_threadpool(client.ping)
        except redis.exceptions.RedisError:
            return Response(b"redis is unreachable", 503)
        return Response(b"ok", 200)

    async def other(request: Request) -> Response:
        err = MnsError("ResourceNotExist", "The resource you requested does not exist.", 404)
        return endpoint._error(err, request_id(), request.headers.get("host", "")[:256])

    app = Starlette(
        routes=[
            *mns_routes(endpoint),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/{path:path}", other, methods=ALL_METHODS),
        ],
        lifespan=_closing(endpoint),
    )
    app.state.mns = endpoint
    return app
