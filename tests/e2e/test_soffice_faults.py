"""LibreOffice hangs or dies under a running service: the task fails with a clear code (a
crash is retried once), soffice is replaced, the next task on the same worker succeeds, and
a document that brought soffice down twice is refused at once from then on.

The faults are real: the worker's soffice.bin (found in /proc by its private profile
directory) is frozen with SIGSTOP or killed with SIGKILL while it converts the document.
One worker process, so "the next task" runs on the worker that suffered the fault.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pymupdf
import pytest
import redis
from alibabacloud_imm20200930 import models as m
from alibabacloud_imm20200930.client import Client

from imm_engine.models import TaskRecord
from tests.support.paths import CORPUS
from tests.support.service import Receiver, Service, notification, own_service
from tests.support.soffice_procs import find_soffice, freeze, gone, parent_of, wait_soffice

pytestmark = [pytest.mark.e2e, pytest.mark.soffice]

REDIS_URL = "redis://127.0.0.1:6379/9"
BUCKET = "faults"
CONVERT_TIMEOUT = 6


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory, hooks: Receiver) -> Iterator[Service]:
    yield from own_service(
        tmp_path_factory.mktemp("soffice-faults"),
        hooks.url,
        {"IMM_WORKER_CONCURRENCY": "1", "IMM_CONVERT_TIMEOUT": str(CONVERT_TIMEOUT)},
    )


@pytest.fixture(scope="module")
def sdk(svc: Service) -> Client:
    return svc.client()


@pytest.fixture(scope="module")
def db(svc: Service) -> redis.Redis:
    return redis.Redis.from_url(REDIS_URL, decode_responses=True)


class Driver:
    def __init__(self, svc: Service, sdk: Client, db: redis.Redis, hooks: Receiver) -> None:
        self.svc, self.sdk, self.db, self.hooks = svc, sdk, db, hooks
        self.prefix = svc.env["IMM_KEY_PREFIX"]
        profiles = (svc.data_dir.absolute() / "soffice").as_uri()
        self.marker = f"-env:UserInstallation={profiles}/"
        self.ready_mark = 0

    def put_text(self, words: str, data: bytes | None = None) -> tuple[str, bytes]:
        data = data if data is not None else f"{words}\n{uuid.uuid4()}\n".encode()
        return self.svc.put(BUCKET, f"in/{uuid.uuid4().hex}.txt", data), data

    def submit(self, source: str) -> tuple[str, str]:
        target = f"oss://{BUCKET}/out/{uuid.uuid4().hex}.pdf"
        request = m.CreateOfficeConversionTaskRequest(
            project_name="test-project",
            source_uri=source,
            target_type="pdf",
            target_uri=target,
            notification=notification(),
        )
        return self.sdk.create_office_conversion_task(request).body.task_id, target

    def get(self, task_id: str) -> Any:
        request = m.GetTaskRequest(
            project_name="test-project", task_type="OfficeConversion", task_id=task_id
        )
        return self.sdk.get_task(request).body

    def wait_final(self, task_id: str, timeout: float = 180) -> Any:
        deadline = time.monotonic() + timeout
        while (body := self.get(task_id)).status == "Running":
            assert time.monotonic() < deadline, f"{task_id} still running"
            time.sleep(0.1)
        return body

    def wait_progress(self, task_id: str, at_least: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.get(task_id).progress < at_least:
            assert time.monotonic() < deadline, f"{task_id} did not reach {at_least}%"
            time.sleep(0.05)

    def record(self, task_id: str) -> TaskRecord:
        return TaskRecord.from_fields(self.db.hgetall(f"{self.prefix}:task:{task_id}"))

    def strikes(self, data: bytes) -> int:
        key = f"{self.prefix}:quarantine:{hashlib.sha256(data).hexdigest()}"
        return int(self.db.hget(key, "strikes") or 0)

    def healthy(self, words: str = "a healthy document") -> tuple[str, int]:
        """A task that must succeed; returns it and the (now warm and idle) soffice."""
        source, _ = self.put_text(words)
        task_id, target = self.submit(source)
        body = self.wait_final(task_id)
        assert (body.status, body.code) == ("Succeeded", ""), body.message
        assert words in pdf_text(self.svc.object(target))
        return task_id, wait_soffice(self.marker)

    def convert_and_kill(self, source: str, signo: int = signal.SIGKILL) -> tuple[str, int]:
        """Submit `source` with soffice frozen, and send soffice `signo` once the worker is
        converting it (the source was fetched; the load request waits on soffice). SIGKILL
        is a kill from outside; SIGSEGV stands for LibreOffice crashing on the document."""
        _, pid = self.healthy()
        freeze(pid)
        task_id, _ = self.submit(source)
        self.crash_when_converting(task_id, 1, pid, signo)
        return task_id, pid

    def crash_when_converting(self, task_id: str, attempt: int, pid: int, signo: int) -> None:
        """Once run `attempt` of the task is in LibreOffice (frozen `pid`, or any soffice for
        `pid` 0), send `signo` to `pid` (or to its worker process: `signo` negative)."""
        deadline = time.monotonic() + 60
        while not (self.record(task_id).attempts == attempt and self.get(task_id).progress >= 10):
            assert time.monotonic() < deadline, f"{task_id}: run {attempt} not converting"
            time.sleep(0.05)
        time.sleep(1.5)
        assert self.get(task_id).status == "Running"
        self.ready_mark = self.ready_count()
        if signo < 0:  # the worker process that owns the soffice converting now
            os.kill(parent_of(pid or wait_soffice(self.marker)), -signo)
            return
        os.kill(pid, signo)
        if signo != signal.SIGKILL:
            os.kill(pid, signal.SIGCONT)  # a stopped process takes other signals when resumed

    def ready_count(self) -> int:
        """How many times a soffice became ready (the service's log)."""
        log = self.svc.log_path
        assert log is not None
        return log.read_text(errors="replace").count(" ready in ")

    def freeze_next_soffice(self, old: int) -> int:
        """The soffice started after `old` died (at the last crash_when_converting), frozen
        once it is warm (its start logged ready)."""
        deadline = time.monotonic() + 60
        while self.ready_count() <= self.ready_mark:
            assert time.monotonic() < deadline, "no soffice became ready after the crash"
            time.sleep(0.05)
        pid = wait_soffice(self.marker, other_than=old)
        freeze(pid)
        return pid

    def losses(self, data: bytes) -> int:
        key = f"{self.prefix}:quarantine:{hashlib.sha256(data).hexdigest()}"
        return int(self.db.hget(key, "lost") or 0)

    def convert_and_kill_worker(self, source: str) -> tuple[str, int]:
        """Submit `source` with soffice frozen, and SIGKILL the worker process that owns
        soffice once it converts it (soffice dies with it: parent-death signal)."""
        _, pid = self.healthy()
        worker = parent_of(pid)
        freeze(pid)
        task_id, _ = self.submit(source)
        self.wait_progress(task_id, 10)
        time.sleep(1.5)
        os.kill(worker, signal.SIGKILL)
        return task_id, worker


@pytest.fixture(scope="module")
def drv(svc: Service, sdk: Client, db: redis.Redis, hooks: Receiver) -> Driver:
    return Driver(svc, sdk, db, hooks)


def pdf_text(path: Any) -> str:
    with pymupdf.open(path) as pdf:
        return "".join(page.get_text() for page in pdf)


def test_hang_fails_convert_timeout_once_and_the_next_task_succeeds(drv: Driver) -> None:
    _, pid = drv.healthy()
    freeze(pid)  # soffice stops answering: every conversion on it hangs
    source, data = drv.put_text("hangs")
    started = time.monotonic()
    task_id, _ = drv.submit(source)
    body = drv.wait_final(task_id)
    took = time.monotonic() - started
    assert (body.status, body.code) == ("Failed", "ConvertTimeout"), body.message
    assert str(CONVERT_TIMEOUT) in body.message
    assert CONVERT_TIMEOUT <= took < CONVERT_TIMEOUT + 30, took
    assert drv.record(task_id).attempts == 1  # a timeout is not retried
    assert gone(pid), "the hung soffice was not killed"
    assert drv.strikes(data) == 1
    event = drv.hooks.wait_for(task_id, timeout=30)
    assert (event.content["Status"], event.content["Code"]) == ("Failed", "ConvertTimeout")

    _, fresh = drv.healthy("after the hang")
    assert fresh != pid


def test_crash_is_retried_once_and_a_second_crash_quarantines_the_document(
    drv: Driver,
) -> None:
    data = f"poison {uuid.uuid4()}\n".encode()

    # 1. LibreOffice crashes on it once (SIGSEGV), the retry converts it: not poison after
    #    all, its strike is cleared (issue 15.4)
    first, _ = drv.put_text("", data)
    task_a, killed_a = drv.convert_and_kill(first, signal.SIGSEGV)
    body = drv.wait_final(task_a)
    assert (body.status, body.code) == ("Succeeded", ""), body.message
    assert drv.record(task_a).attempts == 2
    assert gone(killed_a)
    assert drv.strikes(data) == 0

    # 2. the same bytes (another object) crash it on the run and on the retry: the second
    #    strike quarantines them, the task fails
    second, _ = drv.put_text("", data)
    task_b, killed_b = drv.convert_and_kill(second, signal.SIGSEGV)
    again = drv.freeze_next_soffice(killed_b)
    assert drv.strikes(data) == 1
    drv.crash_when_converting(task_b, 2, again, signal.SIGSEGV)
    body = drv.wait_final(task_b)
    assert (body.status, body.code) == ("Failed", "ConverterCrashed"), body.message
    assert "quarantined" in body.message
    assert drv.record(task_b).attempts == 2
    assert gone(killed_b) and gone(again)
    assert drv.strikes(data) == 2
    event = drv.hooks.wait_for(task_b, timeout=30)
    assert event.content["Code"] == "ConverterCrashed"

    # 3. a third copy fails at once, without LibreOffice
    soffice = wait_soffice(drv.marker)
    third, _ = drv.put_text("", data)
    task_c, _ = drv.submit(third)
    body = drv.wait_final(task_c)
    assert (body.status, body.code) == ("Failed", "InvalidFile.Quarantined"), body.message
    rec = drv.record(task_c)
    assert rec.attempts == 1
    assert rec.end_ts - rec.start_ts < 5, "a quarantined document must fail fast"
    assert find_soffice(drv.marker) == [soffice]  # soffice untouched
    assert drv.strikes(data) == 2
    assert drv.hooks.wait_for(task_c, timeout=30).content["Code"] == "InvalidFile.Quarantined"

    # 4. the next, different document on the same worker succeeds
    _, after = drv.healthy("the worker carries on")
    assert after == soffice


def test_a_document_whose_runs_keep_losing_their_worker_is_quarantined(drv: Driver) -> None:
    """A worker process that dies mid-conversion says nothing of why: each death is a loss
    of the document, an infrastructure fault of the task; twice IMM_QUARANTINE_AFTER losses
    (4) in a row, without a successful run between, quarantine the bytes (issue 15.4)."""
    data = f"worker killer {uuid.uuid4()}\n".encode()

    # one death, then the redelivered run converts it: nothing held against the document
    first, _ = drv.put_text("", data)
    task_a, worker_a = drv.convert_and_kill_worker(first)
    body = drv.wait_final(task_a)
    assert (body.status, body.code) == ("Succeeded", ""), body.message
    assert drv.record(task_a).attempts == 2
    assert gone(worker_a)
    assert (drv.strikes(data), drv.losses(data)) == (0, 0)

    # every run of a long document loses its worker: the fifth finds four losses and stops
    data = (CORPUS / "handbook-872p.docx").read_bytes()
    second = drv.svc.put(BUCKET, f"in/{uuid.uuid4().hex}.docx", data)
    task_b, _ = drv.convert_and_kill_worker(second)
    for attempt in (2, 3, 4):  # each redelivered run, a few seconds into the conversion
        drv.crash_when_converting(task_b, attempt, 0, -signal.SIGKILL)
    body = drv.wait_final(task_b)
    assert (body.status, body.code) == ("Failed", "ConverterCrashed"), body.message
    assert "quarantined" in body.message
    assert drv.record(task_b).attempts == 5
    assert drv.losses(data) == 4

    third = drv.svc.put(BUCKET, f"in/{uuid.uuid4().hex}.docx", data)
    task_c, _ = drv.submit(third)
    assert drv.wait_final(task_c).code == "InvalidFile.Quarantined"
    drv.healthy("the worker carries on")
