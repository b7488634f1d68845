"""Error types.

`ApiError` is what the HTTP API answers with (IMM's `Code`/`Message` and an HTTP status).
`TaskFailure` is how a task ends `Failed`: a bounded `Code` and a human `Message`.
`InvalidValue` is what a pure parser (URIs, templates, pages, packing rules, ListTasks' query)
refuses a value with: not an answer, so that the worker and the CLI use the parsers without
HTTP types; the API turns it into the `InvalidArgument` answer at its edge
(imm_engine/api/params.py `refusal`).
"""

from __future__ import annotations

import re

#: Control characters and unpaired surrogates never reach a message (clients, logs).
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
MAX_MESSAGE = 1000


class ImmError(Exception):
    """Root of every error raised on purpose by imm-engine."""


def _shown(message: str, max_message: int = MAX_MESSAGE) -> str:
    return _UNPRINTABLE.sub("?", message)[:max_message]


class ApiError(ImmError):
    def __init__(
        self, code: str, message: str, status: int = 400, *, max_message: int = MAX_MESSAGE
    ) -> None:
        message = _shown(message, max_message)
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def _invalid_message(name: str, why: str) -> str:
    return f"The parameter {name} is invalid: {why}"


class InvalidValue(ImmError):
    """A value a pure parser refuses: `field` names it (`Pages`, `TargetURI`, `--pages`),
    `reason` says what is wrong. `code` and `message` are those of the `InvalidArgument` error
    the API answers with (`invalid(field, reason)`), so a worker fails a task in the same words
    and the CLI shows them."""

    code = "InvalidArgument"

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        self.message = _shown(_invalid_message(field, reason))
        super().__init__(f"{self.code}: {self.message}")


def invalid(name: str, why: str) -> ApiError:
    """The parameter `name` has a value we refuse; `why` says what is wrong with it."""
    return ApiError("InvalidArgument", _invalid_message(name, why))


def missing(name: str) -> ApiError:
    return ApiError(f"Missing{name}", f"{name} is mandatory for this action.")


def not_found(resource: str, detail: str = "") -> ApiError:
    message = f"The specified resource {resource} is not found."
    if detail:
        message = f"{message} {detail}"
    return ApiError("ResourceNotFound", message, 404)


def service_unavailable(detail: str) -> ApiError:
    return ApiError(
        "ServiceUnavailable",
        f"The request has failed due to a temporary failure of the server: {detail}",
        503,
    )


class TaskFailure(ImmError):
    """A task cannot succeed. `retryable` marks failures a later attempt may not hit;
    `infrastructure` those that are not the document's fault (a process killed from outside:
    the OOM killer, an operator, a deploy), which get a larger retry budget
    (workers/failures/retry.py)."""

    def __init__(
        self, code: str, message: str, *, retryable: bool = False, infrastructure: bool = False
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable or infrastructure
        self.infrastructure = infrastructure
