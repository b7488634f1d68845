"""A storage refusal ends the task with Code AccessDenied whatever code the processor chose."""

from __future__ import annotations

from imm_engine.errors import TaskFailure
from imm_engine.storage.base import AccessDenied, StorageError
from workers.runner import access_denied


def wrapped(code: str, cause: Exception) -> TaskFailure:
    try:
        try:
            raise cause
        except StorageError as exc:
            raise TaskFailure(
                code, f"Cannot read oss://b/k: {exc}", retryable=exc.transient
            ) from exc
    except TaskFailure as failure:
        return failure


def test_refused_read_becomes_access_denied() -> None:
    why = "The service role r is not granted read access to the bucket b."
    failure = access_denied(wrapped("SourceReadFailed", AccessDenied(why)))
    assert (failure.code, failure.retryable) == ("AccessDenied", False)
    assert why in failure.message


def test_other_storage_failures_keep_their_code() -> None:
    failure = wrapped("TargetWriteFailed", StorageError("boom", transient=True))
    assert access_denied(failure) is failure
    plain = TaskFailure("InvalidFile", "bad")
    assert access_denied(plain) is plain
