"""Helpers for the end-to-end tests of the non-office task types."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from alibabacloud_imm20200930.client import Client

from tests.support.service import Delivery, Receiver, Service, notification

BUCKET = "tasktypes-bkt"


def run_dir() -> str:
    """A fresh key prefix per test, so tests never see each other's objects."""
    return f"t{uuid.uuid4().hex[:10]}"


def submit(
    client: Client, receiver: Receiver, call: Callable[..., Any], request: Any
) -> tuple[str, Delivery]:
    """Send a Create*Task request with the official SDK; wait for its completion message."""
    request.project_name = "test-project"
    request.notification = request.notification or notification()
    task_id = call(request).body.task_id
    return task_id, receiver.wait_for(task_id)


def succeeded(delivery: Delivery) -> dict[str, Any]:
    content = delivery.content
    assert content["Status"] == "Succeeded", content
    assert content["Code"] == "" and content["Message"] == ""
    return content


def failed(delivery: Delivery, code: str) -> str:
    content = delivery.content
    assert content["Status"] == "Failed", content
    assert content["Code"] == code, content
    assert content["Message"]
    return str(content["Message"])


def objects_under(service: Service, prefix: str) -> dict[str, bytes]:
    """Every object under `oss://BUCKET/<prefix>` (keys relative to the prefix) and its bytes."""
    root = service.storage / BUCKET / prefix
    if not root.exists():
        return {}
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".imm-upload-")
    }
