"""The notification route the CLI waits on (pure).

`imm-engine up` adds the route `imm-engine-cli` -> a Redis stream on the service's own Redis
unless the configuration already maps that topic; `imm-engine convert` asks for notifications
on that topic and reads the stream. `up` also records where the stream is in
`<IMM_DATA_DIR>/cli.json`, so a CLI without IMM_REDIS_URL (private Redis) can find it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imm_engine.notify.options import RedisStreamOptions
from imm_engine.notify.routes import Routes

CLI_TOPIC = "imm-engine-cli"
#: Entries kept in the stream (XADD MAXLEN ~): plenty for the tasks one CLI run waits for.
STREAM_MAXLEN = 10_000
RUNTIME_FILE = "cli.json"


@dataclass(frozen=True)
class CliStream:
    """Where completion events of CLI_TOPIC tasks arrive."""

    url: str
    stream: str


def default_route(redis_url: str, key_prefix: str) -> dict[str, Any]:
    return {
        "type": "redis_stream",
        "url": redis_url,
        "stream": f"{key_prefix}:cli:events",
        "maxlen": STREAM_MAXLEN,
    }


def is_configured(routes: Routes) -> bool:
    """Whether the configuration maps CLI_TOPIC itself (a `*` route does not count)."""
    return CLI_TOPIC in routes.by_key or f"mns:{CLI_TOPIC}" in routes.by_key


def topics_with_cli_route(
    inline: str | None, routes: Routes, redis_url: str, key_prefix: str
) -> str | None:
    """The IMM_NOTIFY_TOPICS value that adds the default CLI route to `inline` (the user's
    IMM_NOTIFY_TOPICS, JSON or None); None when the user's configuration already maps it."""
    if is_configured(routes):
        return None
    topics: dict[str, Any] = json.loads(inline) if inline and inline.strip() else {}
    topics[CLI_TOPIC] = default_route(redis_url, key_prefix)
    return json.dumps(topics)


def stream_of(routes: Routes) -> CliStream | None:
    """The first Redis stream CLI_TOPIC's events are delivered to, if any."""
    for dest in routes.destinations({"MNS": {"TopicName": CLI_TOPIC}}):
        if dest.type == "redis_stream" and isinstance(dest.options, RedisStreamOptions):
            return CliStream(dest.options.url, dest.options.stream)
    return None


def effective_stream(routes: Routes, redis_url: str, key_prefix: str) -> CliStream | None:
    """The stream a service with these settings (started by `up`) delivers CLI events to."""
    if is_configured(routes):
        return stream_of(routes)
    if not redis_url:
        return None
    route = default_route(redis_url, key_prefix)
    return CliStream(route["url"], route["stream"])


def runtime_document(endpoint: str, stream: CliStream | None) -> dict[str, Any]:
    doc: dict[str, Any] = {"endpoint": endpoint, "topic": CLI_TOPIC}
    if stream is not None:
        doc["stream"] = {"url": stream.url, "stream": stream.stream}
    return doc


def stream_from_document(doc: Mapping[str, Any]) -> CliStream | None:
    section = doc.get("stream")
    if not isinstance(section, Mapping):
        return None
    url, stream = section.get("url"), section.get("stream")
    if not isinstance(url, str) or not isinstance(stream, str) or not url or not stream:
        return None
    return CliStream(url, stream)


def write_runtime(data_dir: Path, doc: Mapping[str, Any]) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / RUNTIME_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)


def read_runtime(data_dir: Path) -> dict[str, Any]:
    try:
        doc = json.loads((data_dir / RUNTIME_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}
