"""What a 2017 action knows of its request besides the parameters, and the errors it shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from imm_engine.api.params import Params, refusal
from imm_engine.errors import ApiError, InvalidValue
from imm_engine.tasktypes.office_2017 import as_2017

if TYPE_CHECKING:
    from imm_engine.api.services import Services


@dataclass(frozen=True)
class Request2017:
    request_id: str
    #: The Host header: the endpoint the client reached (and, usually, its MNS endpoint).
    host: str
    region: str


Handler = Callable[["Services", Params, Request2017], dict[str, Any]]

_PROJECT_NOT_FOUND = ApiError(
    "InvalidProject.NotFound", "The resource Project cannot be found. Please check.", 400
)


def project_not_found() -> ApiError:
    return ApiError(_PROJECT_NOT_FOUND.code, _PROJECT_NOT_FOUND.message, 400)


def translate_error(err: ApiError) -> ApiError:
    """A 2020 error raised by the wrapped logic, in the 2017 API's codes."""
    if err.code == "ResourceNotFound" and "resource project " in err.message:
        return project_not_found()
    if err.code == "ResourceNotFound" and "resource task " in err.message:
        return ApiError(
            "InvalidParameter.TaskId", "The input parameter TaskId is not valid: no such task.", 400
        )
    if err.code == "ResourceAlreadyExists":
        return ApiError(
            "InvalidProject.AlreadyExist", "The resource Project already exists. Please check.", 400
        )
    return as_2017(err)


def answering_2017(fn: Handler) -> Handler:
    """`fn` with the 2020 errors its wrapped logic raises turned into the 2017 API's."""

    def handler(services: Services, params: Params, req: Request2017) -> dict[str, Any]:
        try:
            return fn(services, params, req)
        except ApiError as err:
            raise translate_error(err) from err
        except InvalidValue as err:
            raise translate_error(refusal(err)) from err

    return handler
