"""IMM 2017-09-06 on the same endpoint: the project and document-conversion actions of the old
SDKs (`aliyunsdkimm.request.v20170906`), each a thin wrapper over the 2020 logic.

Requests are dispatched on (Version, Action): the two versions share action names
(`GetProject`, `CreateOfficeConversionTask`, ...) with different parameters and answers.
Projects are one namespace for both versions; a 2017 task is a 2020 OfficeConversion task
(same queue, worker, record and notification guarantees) whose answers and event are shaped
as 2017's. See docs/legacy-2017.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imm_engine.api.legacy2017 import projects, tasks
from imm_engine.api.legacy2017.context import Handler, Request2017
from imm_engine.api.params import Params
from imm_engine.errors import ApiError

if TYPE_CHECKING:
    from imm_engine.api.services import Services

ACTIONS: dict[str, Handler] = {**projects.ACTIONS, **tasks.ACTIONS}


def dispatch(
    services: Services, action: str, params: Params, request_id: str, host: str
) -> dict[str, Any]:
    handler = ACTIONS.get(action)
    if handler is None:
        raise ApiError(
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method: "
            f"{action[:64]} (version 2017-09-06)",
            404,
        )
    return handler(services, params, Request2017(request_id, host, params.raw("RegionId") or ""))


__all__ = ["ACTIONS", "dispatch"]
