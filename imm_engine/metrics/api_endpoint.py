"""GET /metrics on the API: plain HTTP (Prometheus does not sign requests), optionally behind
a bearer token (IMM_METRICS_TOKEN). The API's own request metrics, the API process's
resource use, and the cluster-wide gauges read from Redis (imm_engine/metrics/state_collector)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import redis
from prometheus_client import CollectorRegistry
from prometheus_client.process_collector import ProcessCollector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from imm_engine.metrics.exposition import CONTENT_TYPE, authorized, render
from imm_engine.metrics.registry import API_REGISTRY
from imm_engine.metrics.state_collector import BrokerQueues, StateCollector
from imm_engine.settings import Settings
from imm_engine.state.keys import Keys

log = logging.getLogger("imm_engine.metrics")


def state_registry(settings: Settings, client: redis.Redis) -> CollectorRegistry:
    """A registry of this app's Redis-backed gauges and of the API process's resource use."""
    from imm_engine.broker import RANGES_QUEUE
    from imm_engine.tasktypes import TASK_TYPES

    keys = Keys(settings.key_prefix)
    url = settings.effective_broker_url
    same_redis = url == settings.redis_url
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        StateCollector(
            client,
            keys,
            task_types=[spec.name for spec in TASK_TYPES],
            queues=sorted({spec.queue for spec in TASK_TYPES} | {RANGES_QUEUE}),
            ttl_s=settings.task_ttl_s,
            broker=BrokerQueues(
                url,
                keys,
                client if same_redis else None,
                sentinel_password=settings.redis_sentinel_password.get_secret_value(),
            ),
        )
    )
    ProcessCollector(namespace="imm_api", registry=registry)
    return registry


def metrics_endpoint(
    settings: Settings, client: redis.Redis
) -> Callable[[Request], Awaitable[Response]]:
    state = state_registry(settings, client)

    async def metrics(request: Request) -> Response:
        if not authorized(
            request.headers.get("authorization"), settings.metrics_token.get_secret_value()
        ):
            return PlainTextResponse(
                "unauthorized\n",
                status_code=401,
                headers={"www-authenticate": 'Bearer realm="imm-engine metrics"'},
            )
        try:
            body = await run_in_threadpool(render, API_REGISTRY, state)
        except Exception:
            log.exception("metrics: cannot render the scrape")
            return PlainTextResponse("metrics unavailable\n", status_code=500)
        return Response(body, media_type=CONTENT_TYPE)

    return metrics
