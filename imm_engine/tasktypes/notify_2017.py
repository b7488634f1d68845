"""Where a 2017 task's `NotifyEndpoint` + `NotifyTopicName` deliver (pure, given the context).

* The endpoint is this server when its `host[:port]` is the one the request itself was sent
  to (the usual two-line change points the IMM client and the MNS `Account` at the same
  imm-engine), or is listed in IMM_LEGACY_MNS_ENDPOINTS (`*` lists every endpoint). The topic must
  then exist in the built-in MNS service: the event is published there.
* Any other endpoint: a route of IMM_NOTIFY_TOPICS for the topic (`mns:<topic>` or
  `<topic>`) delivers it, e.g. an `mns` destination with that endpoint and credentials.
* Neither: the request is refused with a message that says what to configure; an event is
  never dropped silently.
* A topic without an endpoint is read as a 2020 `Notification.MNS.TopicName` (a route, or a
  built-in topic of that name); an endpoint without a topic is refused.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from imm_engine.errors import ApiError
from imm_engine.notify.routes import BUILTIN_KEY
from imm_engine.tasktypes.base import SubmitContext, with_builtin_topic

DEFAULT_PORTS = {"http": 80, "https": 443}


def endpoint_host(endpoint: str) -> str | None:
    """`http://host:port/` -> `host:port` (lower case, default port made explicit); None when
    `endpoint` is not an http(s) URL with a host."""
    text = endpoint.strip()
    if "://" not in text:
        text = f"http://{text}"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return f"{parts.hostname.lower()}:{port or DEFAULT_PORTS[parts.scheme]}"


def is_own(endpoint: str, request_host: str, own: tuple[str, ...]) -> bool:
    if "*" in own:
        return True
    wanted = endpoint_host(endpoint)
    if wanted is None:
        return False
    names = {endpoint_host(h) for h in (request_host, *own) if h}
    return wanted in names


def invalid_notify(name: str, why: str) -> ApiError:
    return ApiError(f"InvalidParameter.{name}", f"The input parameter {name} is not valid: {why}")


def notification(
    topic: str | None, endpoint: str | None, request_host: str, ctx: SubmitContext
) -> dict[str, Any]:
    """The task's Notification (with `BuiltinMNS` for a built-in topic), or ApiError."""
    if not topic:
        if endpoint:
            raise invalid_notify("NotifyTopicName", "NotifyEndpoint is set but no topic is named")
        return {}
    base: dict[str, Any] = {"MNS": {"TopicName": topic}}
    if endpoint:
        base["MNS"]["Endpoint"] = endpoint
    if endpoint and is_own(endpoint, request_host, ctx.own_mns_endpoints):
        if not ctx.topic_exists(topic):
            raise invalid_notify(
                "NotifyTopicName",
                f"the topic {topic} does not exist on this server's MNS service "
                f"({endpoint}); create it (Topic.create) and subscribe a queue first",
            )
        return {**base, BUILTIN_KEY: topic}
    routed = not ctx.routes.unknown({"MNS": {"TopicName": topic}})
    if routed:
        return base
    if not endpoint:
        marked = with_builtin_topic(base, ctx)
        if BUILTIN_KEY in marked:
            return marked
        if ctx.unknown_topic != "reject":
            return base
        raise invalid_notify(
            "NotifyTopicName",
            f"the topic {topic} is neither a topic of this server's MNS service nor mapped to a "
            "destination in IMM_NOTIFY_TOPICS",
        )
    raise invalid_notify(
        "NotifyEndpoint",
        f"{endpoint} is not this server's MNS endpoint (it was reached as {request_host or '?'}; "
        f"list other names in IMM_LEGACY_MNS_ENDPOINTS) and IMM_NOTIFY_TOPICS has no route for the "
        f"topic {topic}",
    )
