"""Completion events of the CLI's topic, read from their Redis stream (XREAD).

The reader starts at the stream's last entry, taken before any task is submitted (what
`XREAD ... $` means, but reusable across calls), so every event of this run is seen once.
"""

from __future__ import annotations

import json
from typing import Any

from imm_engine.client.cli_route import CliStream
from imm_engine.state import connection


def event_content(message: str | bytes) -> dict[str, Any] | None:
    """The `content` of IMM's envelope (also inside an MNS JSON wrapper); None if unreadable."""
    try:
        doc = json.loads(message)
        if isinstance(doc, dict) and isinstance(doc.get("Message"), str) and "content" not in doc:
            doc = json.loads(doc["Message"])  # wrap: mns-json
        content = json.loads(doc["content"]) if isinstance(doc, dict) else None
    except (ValueError, KeyError, TypeError):
        return None
    return content if isinstance(content, dict) and content.get("TaskId") else None


class EventReader:
    def __init__(self, where: CliStream) -> None:
        self.where = where
        self.client = connection.connect(
            where.url, decode_responses=True, socket_connect_timeout=3, socket_timeout=10
        )
        self.last_id = "0-0"

    def start(self) -> None:
        """Remember the newest entry; raise redis.RedisError when the stream's Redis is down."""
        newest: Any = self.client.xrevrange(self.where.stream, count=1)
        self.last_id = str(newest[0][0]) if newest else "0-0"

    def read(self, block_ms: int) -> list[dict[str, Any]]:
        """Event contents added since the last read, waiting up to block_ms for the first."""
        reply: Any = self.client.xread({self.where.stream: self.last_id}, count=200, block=block_ms)
        contents = []
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                self.last_id = entry_id
                content = event_content(fields.get("message", ""))
                if content is not None:
                    contents.append(content)
        return contents

    def close(self) -> None:
        self.client.close()
