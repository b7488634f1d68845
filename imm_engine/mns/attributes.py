"""Queue, topic and subscription attributes (pure): names, defaults, ranges, parsing.

Ranges and defaults are MNS's (CreateQueue / CreateTopic / Subscribe documentation); a value
out of range is refused with InvalidArgument, as MNS does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imm_engine.mns.errors import MnsError, invalid
from imm_engine.mns.wire import Element

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,255}")

#: name -> (default, lowest, highest)
QUEUE_RANGES: dict[str, tuple[int, int, int]] = {
    "DelaySeconds": (0, 0, 604800),
    "MaximumMessageSize": (65536, 1024, 65536),
    "MessageRetentionPeriod": (345600, 60, 604800),
    "VisibilityTimeout": (30, 1, 43200),
    "PollingWaitSeconds": (0, 0, 30),
}
TOPIC_RANGES: dict[str, tuple[int, int, int]] = {
    "MaximumMessageSize": (65536, 1024, 65536),
}
#: A topic keeps no messages (it hands them to its subscriptions at once); reported as MNS does.
TOPIC_RETENTION = 86400
MAX_BATCH = 16
PRIORITY_DEFAULT, PRIORITY_MIN, PRIORITY_MAX = 8, 1, 16
NOTIFY_FORMATS = ("XML", "JSON", "SIMPLIFIED")
NOTIFY_STRATEGIES = ("BACKOFF_RETRY", "EXPONENTIAL_DECAY_RETRY")
_QUEUE_ENDPOINT = re.compile(r"acs:mns:[A-Za-z0-9-]*:[0-9A-Za-z-]*:/?queues/([^/\s]+)")


def check_name(kind: str, name: str) -> str:
    """A queue, topic or subscription name: a letter, then letters, digits and hyphens."""
    if len(name) > 256 or not _NAME.fullmatch(name):
        code = "QueueNameLengthError" if kind == "queue" and len(name) > 256 else None
        if code:
            raise MnsError(code, "The length of queue name must be at most 256.", 400)
        raise MnsError(
            f"Invalid{kind.capitalize()}Name",
            f"The {kind} name you provided is not valid: it must start with a letter and hold "
            "only letters, digits and hyphens (at most 256).",
            400,
        )
    return name


def integer(name: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise invalid(f"The value of {name} should be an integer: {text[:40]!r}.") from None
    if not low <= value <= high:
        raise invalid(f"The value of {name} should between {low} and {high}.")
    return value


def boolean(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in ("true", "false"):
        raise invalid(f"The value of {name} should be True or False: {text[:40]!r}.")
    return lowered == "true"


def given_attributes(
    root: Element | None, ranges: dict[str, tuple[int, int, int]]
) -> dict[str, str]:
    """The attributes a `<Queue>`/`<Topic>` body sets, checked, as strings (unknown ignored)."""
    given: dict[str, str] = {}
    if root is None:
        return given
    for name, (_, low, high) in ranges.items():
        text = root.value(name)
        if text is not None and text.strip():
            given[name] = str(integer(name, text, low, high))
    logging = root.value("LoggingEnabled")
    if logging is not None and logging.strip():
        given["LoggingEnabled"] = "True" if boolean("LoggingEnabled", logging) else "False"
    return given


def with_defaults(given: dict[str, str], ranges: dict[str, tuple[int, int, int]]) -> dict[str, str]:
    full = {name: str(default) for name, (default, _, _) in ranges.items()}
    full["LoggingEnabled"] = "False"
    full.update(given)
    return full


def queue_from_endpoint(endpoint: str) -> str:
    """The queue a subscription endpoint `acs:mns:<region>:<account>:queues/<q>` names.

    Only queue endpoints are served: HTTP, mail, SMS and DirectMail endpoints are refused."""
    match = _QUEUE_ENDPOINT.fullmatch(endpoint.strip())
    if not match:
        raise invalid(
            "imm-engine's MNS delivers topic messages to queues only: the Endpoint must be "
            f"acs:mns:<region>:<account>:queues/<queue> (got {endpoint[:120]!r})."
        )
    return check_name("queue", match.group(1))


@dataclass(frozen=True)
class Subscription:
    name: str
    endpoint: str
    queue: str
    filter_tag: str = ""
    strategy: str = "BACKOFF_RETRY"
    content_format: str = "XML"
    create_ms: int = 0
    modify_ms: int = 0

    def same_settings(self, other: Subscription) -> bool:
        return (self.endpoint, self.filter_tag, self.strategy, self.content_format) == (
            other.endpoint,
            other.filter_tag,
            other.strategy,
            other.content_format,
        )


def subscription_from_xml(name: str, root: Element, now_ms: int) -> Subscription:
    endpoint = (root.value("Endpoint") or "").strip()
    if not endpoint:
        raise invalid("The Endpoint of a subscription is mandatory.")
    tag = (root.value("FilterTag") or "").strip()
    if len(tag) > 16:
        raise invalid("The FilterTag should be at most 16 characters.")
    return Subscription(
        name=name,
        endpoint=endpoint,
        queue=queue_from_endpoint(endpoint),
        filter_tag=tag,
        strategy=choice("NotifyStrategy", root.value("NotifyStrategy"), NOTIFY_STRATEGIES),
        content_format=choice(
            "NotifyContentFormat", root.value("NotifyContentFormat"), NOTIFY_FORMATS
        ),
        create_ms=now_ms,
        modify_ms=now_ms,
    )


def choice(name: str, text: str | None, allowed: tuple[str, ...]) -> str:
    if text is None or not text.strip():
        return allowed[0]
    value = text.strip().upper()
    if value not in allowed:
        raise invalid(f"The value of {name} should be one of {', '.join(allowed)}.")
    return value
