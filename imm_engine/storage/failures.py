"""How a backend's error answer maps onto ours (pure): not found, denied, transient, other.

Both cloud backends (OSS, S3) answer errors with an HTTP status and an error code; this
table decides what the task sees: `ObjectNotFound` (task code `ResourceNotFound`),
`AccessDenied` (task code `AccessDenied`, never retried), a transient `StorageError`
(retried) or a permanent one (`SourceReadFailed` / `TargetWriteFailed`).
"""

from __future__ import annotations

from enum import StrEnum

from imm_engine.storage.base import AccessDenied, ObjectNotFound, StorageError


class Kind(StrEnum):
    NOT_FOUND = "not_found"
    DENIED = "denied"
    TRANSIENT = "transient"
    PERMANENT = "permanent"


NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "NotFound", "404"})
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidObjectState",
        "UserDisable",
        "AccountProblem",
        "InvalidSecurityToken",
        "ExpiredToken",
        "SecurityTokenExpired",
        "403",
    }
)
TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestTimeout",
        "InternalError",
        "ServiceUnavailable",
        "RequestTimeoutException",
        "QpsLimitExceeded",
        "DownloadTrafficRateLimitExceeded",
        "UploadTrafficRateLimitExceeded",
    }
)


def classify(status: int, code: str) -> Kind:
    """`status` is the HTTP status (0 or negative: no answer at all, e.g. connection refused)."""
    if code in NOT_FOUND_CODES:
        return Kind.NOT_FOUND
    if code in DENIED_CODES:
        return Kind.DENIED
    if code in TRANSIENT_CODES:
        return Kind.TRANSIENT
    if status <= 0 or status == 429 or status == 408 or status >= 500:
        return Kind.TRANSIENT
    if status == 404:
        return Kind.NOT_FOUND
    if status in (401, 403):
        return Kind.DENIED
    return Kind.PERMANENT


def to_error(kind: Kind, what: str, detail: str) -> StorageError:
    """The StorageError for `kind`; `what` names the object and the operation."""
    if kind == Kind.NOT_FOUND:
        return ObjectNotFound(f"{what}: does not exist ({detail})")
    if kind == Kind.DENIED:
        return AccessDenied(f"{what}: access denied by the storage service ({detail})")
    return StorageError(f"{what}: {detail}", transient=kind == Kind.TRANSIENT)
