"""The ASGI application: wiring only (settings -> store, queue, auth -> the IMM endpoint)."""

from __future__ import annotations

import logging
import time

import redis
from kombu.exceptions import OperationalError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from imm_engine import ids
from imm_engine.api import legacy2017, responses
from imm_engine.api.actions import ACTIONS
from imm_engine.api.auth import Authenticator
from imm_engine.api.protocol import (
    LEGACY_VERSION,
    METHODS,
    check_headers,
    method_not_allowed,
    read_call,
    read_request,
)
from imm_engine.api.services import Services
from imm_engine.broker import TaskQueue
from imm_engine.errors import ApiError, service_unavailable
from imm_engine.metrics import labels, registry
from imm_engine.metrics.api_endpoint import metrics_endpoint
from imm_engine.mns.app import MnsEndpoint, mns_routes
from imm_engine.notify.builtin_mns import BuiltinTopics
from imm_engine.settings import Settings
from imm_engine.state import connection
from imm_engine.state.keys import Keys
from imm_engine.state.projects import Project, ProjectStore
from imm_engine.state.store import TaskStore
from imm_engine.storage.key_grants import NOTHING, Caller
from imm_engine.tasktypes import SubmitContext

log = logging.getLogger("imm_engine.api")

#: Action names the request metrics label as themselves (both API versions).
KNOWN_ACTIONS = frozenset(ACTIONS) | frozenset(legacy2017.ACTIONS)
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"]


def redis_client(settings: Settings) -> redis.Redis:
    """The API's (and the notifier's and the CLI's) client of IMM_REDIS_URL."""
    return connection.connect(
        settings.redis_url,
        sentinel_password=settings.redis_sentinel_password.get_secret_value(),
        socket_timeout=5,
        socket_connect_timeout=2,
    )


class ImmEndpoint:
    def __init__(self, settings: Settings) -> None:
        client = redis_client(settings)
        keys = Keys(settings.key_prefix)
        self.settings = settings
        self.redis = client
        self.auth = Authenticator(
            settings.plain_access_keys(), client, keys, settings.signature_max_skew_s
        )
        self.services = Services(
            store=TaskStore(client, keys, settings.task_ttl_s),
            queue=TaskQueue(settings),
            submit=SubmitContext(
                settings.notify_routes,
                settings.notify_unknown_topic,
                grants=settings.storage.grants,
                topic_exists=BuiltinTopics(client, keys).exists,
                own_mns_endpoints=settings.legacy_mns_endpoints,
            ),
            projects=ProjectStore(client, keys),
            legacy_convert_wait_s=settings.legacy_convert_wait_s,
            durable_replicas=settings.durable_replicas,
            wait_timeout_ms=settings.redis_wait_timeout_ms,
            early_pages=settings.early_pages,
        )
        self.default_projects_ready = False

    async def serve(self, request: Request) -> Response:
        started = time.monotonic()
        response = await self._serve(request)
        action = request.headers.get("x-acs-action") or request.query_params.get("Action", "")
        registry.api_request(
            labels.action(action, KNOWN_ACTIONS), response.status_code, time.monotonic() - started
        )
        return response

    async def _serve(self, request: Request) -> Response:
        request_id = ids.request_id()
        host = request.headers.get("host", "")[:256]
        try:
            if request.method not in METHODS:
                raise method_not_allowed(request.method)
            check_headers(request.scope["headers"])
            body = await self._body(request)
            result = await run_in_threadpool(self.handle, request, body, request_id)
            return responses.success(request_id, result)
        except ApiError as err:
            return responses.error(request_id, host, err)

    def handle(self, request: Request, body: bytes, request_id: str) -> dict[str, object]:
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        try:
            signed = read_request(
                request.method, request.url.path, request.scope["query_string"], headers, body
            )
            caller = self.caller(self.auth.authenticate(signed, time.time()))
            self.ensure_default_projects()
            call = read_call(signed)
            caller.check_parameters(call.params.raw)
            services = self.services.for_caller(caller)
            if call.version == LEGACY_VERSION:
                host = request.headers.get("host", "")[:256]
                return legacy2017.dispatch(services, call.action, call.params, request_id, host)
            handler = ACTIONS.get(call.action)
            if handler is None:
                raise ApiError(
                    "InvalidAction.NotFound",
                    "Specified api is not found, please check your url and method: "
                    f"{call.action[:64]}",
                    404,
                )
            return handler(services, call.params, request_id)
        except (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            OperationalError,
        ) as exc:
            log.warning("backend unavailable: %s", exc)
            raise service_unavailable("the task store cannot be reached") from exc
        except redis.exceptions.ResponseError as exc:
            if not connection.refused_for_replication(exc):
                log.exception("request %s failed", request_id)
                raise _internal_error() from exc
            log.warning("backend unavailable: %s", exc)
            raise service_unavailable("the task store has too few replicas") from exc
        except ApiError:
            raise
        except Exception as exc:
            log.exception("request %s failed", request_id)
            raise _internal_error() from exc

    def caller(self, key_id: str) -> Caller:
        """The signing key and its grant (IMM_STORAGE_CONFIG "keys", checked at start)."""
        keys = self.settings.access_keys
        grant = self.settings.storage.key_grants.grant_for(key_id, len(keys))
        return Caller(key_id, grant or NOTHING)

    async def _body(self, request: Request) -> bytes:
        limit = self.settings.max_request_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
        return b"".join(chunks)

    def health(self) -> dict[str, object]:
        self.redis.ping()
        self.ensure_default_projects()  # healthy only once they exist
        return {"status": "ok"}

    def ensure_default_projects(self) -> None:
        """Create the IMM_DEFAULT_PROJECTS that do not exist (once per process)."""
        if self.default_projects_ready:
            return
        for name in self.settings.default_projects:
            if self.services.projects.create(default_project(name)):
                log.info("created the default project %s", name)
        self.default_projects_ready = True


def default_project(name: str) -> Project:
    now = time.time()
    return Project(name=name, create_ts=now, update_ts=now, description="IMM_DEFAULT_PROJECTS")


def _internal_error() -> ApiError:
    return ApiError(
        "InternalError", "The request processing has failed due to some unknown error.", 500
    )


def _too_large(limit: int) -> ApiError:
    return ApiError("RequestEntityTooLarge", f"The request body is larger than {limit} bytes.", 413)


def create_app(settings: Settings) -> Starlette:
    endpoint = ImmEndpoint(settings)

    async def healthz(request: Request) -> Response:
        try:
            result = await run_in_threadpool(endpoint.health)
        except redis.exceptions.RedisError:
            return responses.error(
                ids.request_id(), "", service_unavailable("redis is unreachable")
            )
        return responses.success(ids.request_id(), result)

    def refuse(request: Request, status: int) -> Response:
        if request.url.path == "/" or status == 405:
            err = method_not_allowed(request.method)
        else:
            err = ApiError(
                "InvalidAction.NotFound",
                f"No such path {request.url.path[:100]}; POST / with x-acs-action.",
                404,
            )
        return responses.error(ids.request_id(), request.headers.get("host", "")[:256], err)

    async def not_found(request: Request) -> Response:
        return refuse(request, 404)

    async def http_error(request: Request, exc: Exception) -> Response:
        # Starlette's own 404/405 (a method no route lists): answered as IMM JSON too.
        return refuse(request, getattr(exc, "status_code", 404))

    mns = MnsEndpoint(settings, endpoint.redis) if settings.mns_enabled else None
    app = Starlette(
        routes=[
            Route("/", endpoint.serve, methods=["GET", "POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics_endpoint(settings, endpoint.redis), methods=["GET"]),
            *(mns_routes(mns) if mns else []),  # the built-in MNS (docs/mns.md)
            Route("/{path:path}", not_found, methods=ALL_METHODS),
        ],
        exception_handlers={HTTPException: http_error},
    )
    app.state.endpoint = endpoint
    return app
