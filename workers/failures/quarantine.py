"""Documents that keep killing LibreOffice are refused instead of converted again.

A document is identified by the SHA-256 of its bytes (its name and bucket do not matter).
Each LibreOffice crash (`ConverterCrashed`) or hang (`ConvertTimeout`) while converting it
is a *strike*, counted in Redis (`<prefix>:quarantine:<sha256>`, expiring `ttl_s` after the
last strike). From `threshold` strikes on (2 by default) the document is quarantined: a task
for the same bytes fails at once with `InvalidFile.Quarantined`, without starting a
conversion, so one poisonous document cannot take a worker's LibreOffice down over and over.

Kills from outside are not the document's fault and are no strike: a LibreOffice ended by
SIGKILL, SIGTERM, SIGINT or SIGHUP (the OOM killer, an operator, a deploy) fails its run as an
infrastructure fault, retried with a larger budget (workers/failures/retry.py). A worker
process that dies while LibreOffice converts a document cannot tell why; a marker set before
the conversion and removed after it lets the task's next run (the message is delivered again)
count that death as a *loss*, which counts against the document only when it repeats: twice
the threshold of losses (4 by default) on the same bytes quarantine them too, so a document
that kills its worker process itself cannot loop forever. A conversion of the same bytes that
succeeds clears their strikes and losses: that document is not poison.

The strike that reaches the threshold also ends its own task: the failure is no longer
retried. Deleting the key lifts the quarantine.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from imm_engine.errors import TaskFailure
from imm_engine.state.keys import Keys
from workers.failures import outage

log = logging.getLogger("imm_engine.worker")

#: Failures that count as the document's fault: LibreOffice died or hung on it.
STRIKE_CODES = frozenset({"ConverterCrashed", "ConvertTimeout"})
QUARANTINED = "InvalidFile.Quarantined"


def digest(path: Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Quarantine:
    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        *,
        threshold: int,
        ttl_s: int,
        on_worker_lost: Callable[[str], object] = lambda task_id: None,
    ) -> None:
        self.r = client
        self.keys = keys
        self.threshold = threshold
        self.ttl_s = ttl_s
        #: Called with the TaskId of a run that finds its worker died mid-conversion.
        self.on_worker_lost = on_worker_lost

    def strikes(self, sha: str) -> int:
        return self.counts(sha)[0]

    def counts(self, sha: str) -> tuple[int, int]:
        """(strikes, losses) of the document."""
        strikes, lost = self.r.hmget(self.keys.quarantine(sha), ["strikes", "lost"])
        return int(strikes or 0), int(lost or 0)

    def check(self, sha: str) -> tuple[int, int]:
        """Raise `InvalidFile.Quarantined` when the document is quarantined; else its
        (strikes, losses)."""
        strikes, lost = self.counts(sha)
        if lost >= 2 * self.threshold:
            raise TaskFailure(
                QUARANTINED,
                f"The document (SHA-256 {sha[:16]}...) was being converted each time a worker "
                f"process died, {lost} times; it is quarantined and will not be converted again.",
            )
        if strikes >= self.threshold:
            raise TaskFailure(
                QUARANTINED,
                f"The document (SHA-256 {sha[:16]}...) made LibreOffice crash or hang "
                f"{strikes} times; it is quarantined and will not be converted again.",
            )
        return strikes, lost

    def strike(self, sha: str, code: str, task_id: str, field: str = "strikes") -> int:
        """Count one crash or hang (or, `field="lost"`, one worker lost) on the document;
        returns the count so far."""
        key = self.keys.quarantine(sha)
        pipe = self.r.pipeline(transaction=True)
        pipe.hincrby(key, field, 1)
        pipe.hset(key, mapping={"last_code": code, "last_task": task_id, "last_ts": time.time()})
        pipe.expire(key, self.ttl_s)
        strikes = int(pipe.execute()[0])
        log.warning("document %s: strike %d (%s in %s)", sha[:16], strikes, code, task_id)
        return strikes

    def release(self, sha: str) -> bool:
        """Lift the quarantine of a document (True if it had strikes)."""
        return bool(self.r.delete(self.keys.quarantine(sha)))

    @contextmanager
    def guard(self, src: Path, task_id: str) -> Iterator[None]:
        """Refuse a quarantined `src`; count a crash or hang of the conversion in the block.

        The failure that quarantines the document is made final (not retried). A run that
        finds its own task's marker from an earlier run knows that run's worker died while
        LibreOffice converted this document (killed, out of memory, time limit): a strike."""
        sha = digest(src)
        strikes, lost = self.check(sha)
        marker = self.keys.converting(sha, task_id)
        if self.r.exists(marker):
            self.on_worker_lost(task_id)
            lost = self.strike(sha, "WorkerLost", task_id, "lost")
            if lost >= 2 * self.threshold:
                self.r.delete(marker)
                raise TaskFailure(
                    "ConverterCrashed",
                    f"The worker stopped while LibreOffice converted the document, {lost} "
                    "times. The document is quarantined: it will not be converted again.",
                )
        self.r.set(marker, str(time.time()), ex=self.ttl_s)
        try:
            yield
        except TaskFailure as failure:
            if failure.code not in STRIKE_CODES or failure.infrastructure:
                raise
            strikes = self.strike(sha, failure.code, task_id)
            if strikes < self.threshold:
                raise
            raise TaskFailure(
                failure.code,
                f"{failure.message} This document has now made LibreOffice crash or hang "
                f"{strikes} times and is quarantined: it will not be converted again.",
            ) from failure
        else:
            if strikes or lost:  # converted after all: not poison, whatever happened before
                self.release(sha)
        finally:
            # Wait for Redis if it is away: a marker left behind would count as a crash.
            outage.until_reachable(
                f"task {task_id}: quarantine marker",
                lambda: self.r.delete(marker),
                give_up_after_s=3600,  # the task's soft time limit comes first
            )
