"""MNS errors: a `Code`, a `Message` and the HTTP status MNS answers them with.

Codes and statuses follow MNS's error table (docs/mns.md#errors). Every error the service
answers is an `MnsError`; the HTTP layer turns it into MNS's `<Error>` XML.
"""

from __future__ import annotations

import re

_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


class MnsError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        message = _UNPRINTABLE.sub("?", message)[:1000]
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class QueueNotExist(MnsError):
    def __init__(self, name: str) -> None:
        super().__init__("QueueNotExist", "The queue name you provided is not exist.", 404)
        self.name = name


class TopicNotExist(MnsError):
    def __init__(self, name: str) -> None:
        super().__init__("TopicNotExist", "The topic name you provided is not exist.", 404)
        self.name = name


def invalid(message: str) -> MnsError:
    return MnsError("InvalidArgument", message, 400)


def message_not_exist() -> MnsError:
    return MnsError("MessageNotExist", "Message not exist.", 404)


def receipt_handle_error(handle: str) -> MnsError:
    return MnsError(
        "ReceiptHandleError", f"The receipt handle you provided is not valid: {handle[:80]}", 400
    )


def subscription_not_exist() -> MnsError:
    return MnsError("SubscriptionNotExist", "The subscription name you provided is not exist.", 404)


def malformed_xml(detail: str) -> MnsError:
    return MnsError("MalformedXML", f"The XML you provided was not well-formed: {detail}", 400)


def internal_error() -> MnsError:
    return MnsError(
        "InternalError", "The request processing has failed due to some unknown error.", 500
    )


def service_unavailable() -> MnsError:
    return MnsError("ServiceUnavailable", "The message store cannot be reached now.", 503)
