"""Who may call: signature, clock skew and nonce replay."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import redis

from imm_engine.api import signature
from imm_engine.errors import ApiError
from imm_engine.state.keys import Keys


def parse_time(value: str) -> float | None:
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    return None


class Authenticator:
    def __init__(
        self, keys: Mapping[str, str], client: redis.Redis, redis_keys: Keys, max_skew_s: int
    ) -> None:
        self.keys = dict(keys)
        self.r = client
        self.redis_keys = redis_keys
        self.max_skew_s = max_skew_s

    def authenticate(self, req: signature.SignedRequest, now: float) -> str:
        """The AccessKey id that signed `req`; raises ApiError when the request must be refused."""
        creds = signature.verify(req, self.keys.get)
        when = parse_time(creds.date)
        if when is None:
            raise ApiError(
                "InvalidTimeStamp.Format",
                f"Specified time stamp or date value is not well formatted: {creds.date[:40]}",
            )
        if abs(now - when) > self.max_skew_s:
            raise ApiError(
                "InvalidTimeStamp.Expired",
                f"Specified time stamp or date value is expired: {creds.date} is more than "
                f"{self.max_skew_s} s from the server time.",
            )
        if len(creds.nonce) > 128:
            raise ApiError(
                "InvalidSignatureNonce", "The signature nonce is longer than 128 characters."
            )
        fresh = self.r.set(
            self.redis_keys.nonce(creds.access_key_id, creds.nonce),
            1,
            nx=True,
            ex=2 * self.max_skew_s,
        )
        if not fresh:
            raise ApiError("SignatureNonceUsed", "Specified signature nonce was used already.")
        return creds.access_key_id
