"""What every sender is, and the delivery policy they share, so a sender only says how to
connect and how to publish.

`BaseSender.send` times the attempt and turns the exceptions a sender declares (`failures`)
into an `Outcome`, permanent when `is_permanent` says retrying with the same configuration
cannot help. `ConnectedSender` adds one kept connection per destination: made lazily under
the destination's lock (the brokers' clients are not thread-safe), dropped after any failure
so the next attempt connects afresh, and on a connection that went stale while idle, one
fresh try at once.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar, Generic, Protocol, TypeVar

from imm_engine.notify.routes import Destination
from imm_engine.notify.senders.links import Links

log = logging.getLogger("imm_engine.notify")


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None = None
    error: str = ""
    #: True when retrying cannot help (e.g. the destination is refused by policy).
    permanent: bool = False
    elapsed_ms: float = 0.0


@dataclass(frozen=True)
class Delivery:
    """One attempt to hand one completion event to a destination."""

    body: bytes
    #: The task's EventId: the same on every attempt (receivers deduplicate on it).
    event_id: str
    task_id: str
    #: 1 for the first attempt.
    attempt: int


class Sender(Protocol):
    def send(
        self, dest: Destination, body: bytes, event_id: str, task_id: str, attempt: int
    ) -> Outcome: ...


class Rejected(Exception):
    """The destination answered but did not take the message (or refused the connection):
    `message` is the whole error shown in the delivery log, `status` the answer's code."""

    def __init__(self, message: str, *, permanent: bool = False, status: int | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.status = status


def elapsed_ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def failure(exc: BaseException, started: float, *, permanent: bool = False) -> Outcome:
    return Outcome(
        False,
        error=f"{type(exc).__name__}: {exc}"[:300],
        permanent=permanent,
        elapsed_ms=elapsed_ms(started),
    )


class BaseSender(ABC):
    """One attempt: `deliver` publishes (or raises); the outcome is decided here."""

    #: Exceptions that make a failed attempt. Anything else is unexpected: it propagates to
    #: the `Wrapping` sender, which logs it and counts a failed attempt all the same.
    failures: ClassVar[tuple[type[Exception], ...]] = (Exception,)
    #: Failures that retrying with the same configuration cannot fix.
    permanent: ClassVar[tuple[type[Exception], ...]] = ()

    def send(
        self, dest: Destination, body: bytes, event_id: str, task_id: str, attempt: int
    ) -> Outcome:
        started = time.monotonic()
        try:
            status = self.deliver(dest, Delivery(body, event_id, task_id, attempt))
        except Rejected as exc:
            return self.rejected(exc, started)
        except self.failures as exc:
            return self.failed(exc, started)
        return Outcome(True, status, elapsed_ms=elapsed_ms(started))

    @abstractmethod
    def deliver(self, dest: Destination, delivery: Delivery) -> int | None:
        """Publish once; the answer's status code if the transport has one. Raises on failure."""

    def is_permanent(self, exc: Exception) -> bool:
        return isinstance(exc, self.permanent)

    def describe(self, exc: Exception) -> str:
        """The delivery log's error text for a failure."""
        return f"{type(exc).__name__}: {exc}"

    def failed(self, exc: Exception, started: float) -> Outcome:
        return Outcome(
            False,
            error=self.describe(exc)[:300],
            permanent=self.is_permanent(exc),
            elapsed_ms=elapsed_ms(started),
        )

    @staticmethod
    def rejected(exc: Rejected, started: float) -> Outcome:
        return Outcome(
            False,
            exc.status,
            str(exc)[:300],
            permanent=exc.permanent,
            elapsed_ms=elapsed_ms(started),
        )


C = TypeVar("C")


@dataclass
class _Link(Generic[C]):
    lock: threading.Lock = field(default_factory=threading.Lock)
    conn: C | None = None


class ConnectedSender(BaseSender, Generic[C]):
    """A sender that keeps one connection `C` per destination and serialises sends on it."""

    #: Failures that, on a connection kept from earlier sends, mean only that the broker or
    #: the network dropped it while idle: one fresh connection is tried at once.
    stale: ClassVar[tuple[type[Exception], ...]] = ()

    def __init__(self) -> None:
        self._links: Links[_Link[C]] = Links(_Link)

    @abstractmethod
    def connect(self, dest: Destination) -> C:
        """A new connection to `dest`, ready to publish on (cleans up after itself if not)."""

    @abstractmethod
    def publish(self, conn: C, dest: Destination, delivery: Delivery) -> None:
        """Publish once on `conn` and wait for the broker's acknowledgement, or raise."""

    def disconnect(self, conn: C) -> None:
        """Close `conn`, which may be broken (a failure here is logged, never raised)."""

    def usable(self, conn: C) -> bool:
        """False when a kept connection is known to be gone before anything is sent."""
        return True

    def deliver(self, dest: Destination, delivery: Delivery) -> None:
        link = self._links.get(dest.name)
        with link.lock:
            if link.conn is not None and not self.usable(link.conn):
                self._drop(link)
            reused = link.conn is not None
            try:
                self._attempt(link, dest, delivery)
            except self.stale as exc:
                if not reused or self.is_permanent(exc):
                    raise
                self._attempt(link, dest, delivery)
        return None

    def _attempt(self, link: _Link[C], dest: Destination, delivery: Delivery) -> None:
        """Connect if needed and publish; after any failure the connection is dropped."""
        try:
            if link.conn is None:
                link.conn = self.connect(dest)
            self.publish(link.conn, dest, delivery)
        except Exception:
            self._drop(link)
            raise

    def _drop(self, link: _Link[C]) -> None:
        conn, link.conn = link.conn, None
        if conn is not None:
            try:
                self.disconnect(conn)
            except Exception as exc:  # closing a broken connection must not fail the attempt
                log.debug("closing a connection failed: %s", exc)

    def close(self) -> None:
        for link in self._links.all():
            with link.lock:
                self._drop(link)
