"""IMM response bodies: JSON always, errors as `{RequestId, HostId, Code, Message}`."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from imm_engine.errors import ApiError

JSON = "application/json;charset=utf-8"


def success(request_id: str, body: dict[str, Any]) -> Response:
    payload = {"RequestId": request_id, **body}
    return Response(
        json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
        200,
        media_type=JSON,
        headers={"x-acs-request-id": request_id},
    )


def error(request_id: str, host: str, err: ApiError) -> Response:
    payload = {
        "RequestId": request_id,
        "HostId": host,
        "Code": err.code,
        "Message": err.message,
        "Recommend": f"https://next.api.aliyun.com/troubleshoot?q={err.code}&product=imm",
    }
    headers = {"x-acs-request-id": request_id}
    if err.status == 429:
        headers["x-acs-retry-after"] = "1"
    if err.status == 405:
        headers["allow"] = "GET, POST"
    return Response(
        json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
        err.status,
        media_type=JSON,
        headers=headers,
    )
