"""What every Create*Task action shares: project, tags, user data, notification."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from imm_engine.api.params import Params, loads_json
from imm_engine.errors import ApiError, invalid, missing
from imm_engine.notify.routes import BUILTIN_KEY, Routes
from imm_engine.storage.grants import Grants
from imm_engine.targets import uris
from imm_engine.tasktypes.job import Job

J = TypeVar("J", bound=Job)

MAX_USER_DATA_BYTES = 2048
MAX_TAGS_BYTES = 4096
MAX_TAGS = 50
_PROJECT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,127}", re.ASCII)  # fullmatch
#: Parameters whose values never go back to clients (GetTask's TaskRequestDefinition).
SECRET_PARAMS = frozenset({"Password"})


def _no_topics(topic: str) -> bool:
    return False


@dataclass(frozen=True)
class SubmitContext:
    routes: Routes
    unknown_topic: str = "reject"
    #: Storage roles: which buckets a project's ServiceRole may read and write.
    grants: Grants = field(default_factory=Grants)
    #: Whether a topic exists in this server's own MNS service (imm_engine/mns).
    topic_exists: Callable[[str], bool] = _no_topics
    #: `host[:port]` names of this server's MNS endpoint besides the one a request reached
    #: (IMM_LEGACY_MNS_ENDPOINTS; `*` matches any): a 2017 NotifyEndpoint naming one is this server.
    own_mns_endpoints: tuple[str, ...] = ()


@dataclass(frozen=True)
class Submission(Generic[J]):
    project: str
    job: J
    tags: dict[str, Any] = field(default_factory=dict)
    user_data: str = ""
    notification: dict[str, Any] = field(default_factory=dict)
    definition: dict[str, Any] = field(default_factory=dict)


def project_name(params: Params) -> str:
    name = params.get_str("ProjectName", required=True, max_bytes=128)
    assert name is not None
    if not _PROJECT.fullmatch(name):
        raise invalid(
            "ProjectName",
            "use 1-128 letters, digits, '-' and '_', starting with a letter or '_'",
        )
    return name


def parse_tags(params: Params) -> dict[str, Any]:
    tags: dict[str, Any] | None = params.get_json("Tags", dict, max_bytes=MAX_TAGS_BYTES)
    if tags is None:
        return {}
    if len(tags) > MAX_TAGS:
        raise invalid("Tags", f"more than {MAX_TAGS} tags")
    for key in tags:
        if not key or len(key) > 128:
            raise invalid("Tags", "tag keys must be 1-128 characters")
    return tags


def parse_notification(params: Params, ctx: SubmitContext) -> dict[str, Any]:
    notification: dict[str, Any] = params.get_json("Notification", dict) or {}
    notification.pop(BUILTIN_KEY, None)  # set below, never by the client
    legacy = params.get_str("NotifyTopicName", max_bytes=256)
    if legacy and not notification:
        notification = {"MNS": {"TopicName": legacy}}
    mns = notification.get("MNS")
    if mns is not None and (not isinstance(mns, dict) or not isinstance(mns.get("TopicName"), str)):
        raise invalid("Notification", "MNS must be an object with a TopicName string")
    rmq = notification.get("RocketMQ")
    if rmq is not None and (
        not isinstance(rmq, dict)
        or not all(isinstance(rmq.get(k), str) and rmq.get(k) for k in ("InstanceId", "TopicName"))
    ):
        raise invalid("Notification", "RocketMQ must be an object with InstanceId and TopicName")
    ext = notification.get("ExtendedMessageURI")
    if ext is not None:
        if not isinstance(ext, str):
            raise invalid("Notification", "ExtendedMessageURI must be a string")
        uris.parse_object(ext, "Notification.ExtendedMessageURI")
    notification = with_builtin_topic(notification, ctx)
    if ctx.unknown_topic == "reject":
        unknown = ctx.routes.unknown(notification)
        if unknown:
            raise ApiError(
                "InvalidArgument",
                f"The parameter Notification is invalid: topic {', '.join(unknown)} is not "
                "configured on this server (map it to a destination in IMM_NOTIFY_TOPICS)",
            )
    return notification


def with_builtin_topic(notification: dict[str, Any], ctx: SubmitContext) -> dict[str, Any]:
    """`Notification.MNS.TopicName` that no configured route claims goes to the built-in MNS
    topic of that name when one exists (marked `BuiltinMNS`)."""
    mns = notification.get("MNS")
    if not isinstance(mns, dict) or not isinstance(mns.get("TopicName"), str):
        return notification
    topic = mns["TopicName"]
    claimed = f"mns:{topic}" not in ctx.routes.unknown({"MNS": {"TopicName": topic}})
    if not claimed and ctx.topic_exists(topic):
        return {**notification, BUILTIN_KEY: topic}
    return notification


def definition_value(value: str) -> Any:
    """JSON-string parameters go back as the JSON they hold, as IMM's examples show."""
    if value[:1] in "[{":
        try:
            return loads_json(value)
        except ValueError:  # not JSON we would store: kept as the string it was
            return value
    return value


def require_one(params: Params, *names: str) -> str:
    given = [n for n in names if params.get_str(n) is not None]
    if not given:
        raise missing(names[0])
    if len(given) > 1:
        raise invalid(given[1], f"give either {' or '.join(names)}, not both")
    return given[0]
