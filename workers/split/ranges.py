"""The fan-out of a split task and the run of one of its page ranges.

The parent run (OfficeConversion, after its one PDF exists) writes the PDF to storage
(workers/split/scratch.py), writes the plan (imm_engine/state/split.py), publishes one
`imm.RenderRange` message per range but the first on the task's own queue, renders the first
range itself and returns without finishing the task (`Deferred`). Each range run renders its
pages to the names the unsplit task would write, then adds its number to the done set; a run
that finds every range done finishes the parent with the plan's result (the one atomic
finishing step, applied once: only over `Running`) and deletes the temporary PDF. A range
that fails for good fails the parent with its code, and cleans up the same way.

Range messages are acknowledged late like every task, so a worker dying mid-range costs
that range only: it is delivered again and re-renders the same objects.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymupdf
from celery.exceptions import SoftTimeLimitExceeded

from imm_engine.errors import TaskFailure
from imm_engine.models import TaskRecord, TaskStatus
from imm_engine.state.split import PageOut, Plan, SplitStore
from imm_engine.targets import uris
from imm_engine.tasktypes.office_conversion import OfficeJob
from workers import runner
from workers.failures import outage
from workers.failures.retry import retry_delay
from workers.processors import pdf_render
from workers.processors.base import Deferred, Progress, TaskContext
from workers.processors.objects import upload
from workers.split import planning, scratch
from workers.workdir import workdir

log = logging.getLogger("imm_engine.worker")

#: Celery task of one range; its message id is `<TaskId>~<range number>`.
RANGE_TASK = "imm.RenderRange"
SEPARATOR = "~"

#: (TaskId, range number, countdown in seconds): queue one run of a range.
Publish = Callable[[str, int, float], None]
#: Writes one page's output (workers/processors/office.py `write_page`).
WritePage = Callable[[pymupdf.Document, OfficeJob, int, Path], None]


def message_id(task_id: str, k: int) -> str:
    return f"{task_id}{SEPARATOR}{k}"


def parent_of(message: str) -> str | None:
    """The TaskId of a range message id; None for a task's own message."""
    task_id, sep, _ = message.partition(SEPARATOR)
    return task_id if sep else None


@dataclass
class _Cached:
    task_id: str
    path: Path
    doc: pymupdf.Document


@dataclass
class Splitter:
    """Split tasks as seen from one worker process."""

    deps: runner.Deps
    splits: SplitStore
    publish: Publish
    write_page: WritePage
    _cache: _Cached | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        atexit.register(self._drop_cache)

    # --- the parent ---

    def resume(self, rec: TaskRecord) -> None:
        """A parent run of a task that already fanned out (its message delivered again):
        publish what was not published, render the first range, raise Deferred."""
        plan = self.splits.get(rec.task_id)
        if plan is None:
            return
        log.info("task %s: already split into %d ranges; resuming", rec.task_id, len(plan.ranges))
        self._fan_out(plan)
        self.run_range(rec.task_id, 0)
        raise Deferred

    def start(
        self,
        rec: TaskRecord,
        doc: pymupdf.Document,
        pdf_path: Path,
        password: str,
        outs: list[PageOut],
        result: dict[str, Any],
    ) -> None:
        """Fan the pages `outs` out in ranges and render the first; raises Deferred."""
        settings = self.deps.settings
        scratch.sweep(self.deps.storage, self.splits)
        bucket = settings.split_bucket or uris.parse_object(outs[0].uri, "TargetURI").bucket
        target = scratch.uri_for(rec.task_id, bucket)
        scratch.put(self.deps.storage, self.splits, pdf_path, target)
        plan = Plan(
            task_id=rec.task_id,
            pdf=str(target),
            password=password,
            pages=len(outs),
            ranges=planning.chunk(outs, settings.split_range_pages),
            result=result,
        )
        if not self.splits.create(plan):  # written by an earlier run of this parent
            plan = self.splits.get(rec.task_id) or plan
        log.info(
            "task %s: %d pages split into %d ranges of %d",
            rec.task_id,
            plan.pages,
            len(plan.ranges),
            settings.split_range_pages,
        )
        self._fan_out(plan)
        self.run_range(rec.task_id, 0, doc=doc)
        raise Deferred

    def _fan_out(self, plan: Plan) -> None:
        if plan.published:
            return
        for k in range(1, len(plan.ranges)):
            if not self.splits.is_done(plan.task_id, k):
                self.publish(plan.task_id, k, 0.0)
        self.splits.mark_published(plan.task_id)

    # --- one range ---

    def run_range(self, task_id: str, k: int, doc: pymupdf.Document | None = None) -> None:
        """Render range `k` of the task (unless done), then finish the task if it was the last.
        `doc`: the PDF already open (the parent's own range); else it comes from storage."""
        rec = self.deps.store.get(task_id)
        if rec is None or rec.finished:
            log.info("range %d of task %s: the task is %s", k, task_id, rec and rec.status)
            return
        plan = self.splits.get(task_id)
        if plan is None or k >= len(plan.ranges):
            # Dropped only after the task ended (then finish below does nothing), or expired
            # after IMM_SPLIT_SCRATCH_TTL untouched: fail the task rather than leave it Running.
            log.warning("range %d of task %s: no plan", k, task_id)
            message = "The page ranges of this task expired before they were rendered."
            runner.finish(self.deps, rec, TaskStatus.FAILED, code="InternalError", message=message)
            return
        self.splits.touch(task_id)
        if not self.splits.is_done(task_id, k):
            attempt = self.splits.range_attempt(task_id, k)
            try:
                self._render(rec, plan, k, doc)
            except TaskFailure as failure:
                self._failed(rec, plan, k, runner.access_denied(failure), attempt)
                return
            except outage.UNREACHABLE:
                raise
            except SoftTimeLimitExceeded:
                limit = self.deps.settings.task_soft_time_limit_s
                message = f"The task did not finish within {limit} s and was stopped."
                self._end(rec, plan, TaskStatus.FAILED, "ConvertTimeout", message)
                return
            except Exception as exc:
                log.exception("range %d of task %s: unexpected error", k, task_id)
                message = f"The task failed on an internal error ({type(exc).__name__})."
                self._end(rec, plan, TaskStatus.FAILED, "InternalError", message)
                return
        if self.splits.range_done(task_id, k):
            self._end(rec, plan, TaskStatus.SUCCEEDED)

    def _render(self, rec: TaskRecord, plan: Plan, k: int, doc: pymupdf.Document | None) -> None:
        with workdir(message_id(rec.task_id, k)) as wd:
            ctx = TaskContext(
                settings=self.deps.settings,
                storage=runner.task_storage(self.deps, rec),
                workdir=wd,
                progress=Progress(lambda _pct: None),
            )
            pdf = doc if doc is not None else self._open(plan)
            job = OfficeJob.from_record(rec.job)
            for out in plan.ranges[k]:
                path = wd / f"page-{out.page}.{job.target_type}"
                self.write_page(pdf, job, out.index, path)
                upload(ctx, path, uris.parse_object(out.uri, "TargetURI"))
                path.unlink(missing_ok=True)
                self.page_written(rec.task_id, out.page, plan.pages)

    def page_written(self, task_id: str, page: int, total: int) -> None:
        """Progress and early pages; skipped while Redis is away (the next one counts all)."""

        def record() -> None:
            self.splits.page_written(task_id, page, total)

        outage.best_effort("progress", record)

    def _failed(
        self, rec: TaskRecord, plan: Plan, k: int, failure: TaskFailure, attempt: int
    ) -> None:
        current = self.deps.store.get(rec.task_id)
        if current is None or current.finished:
            return  # another range ended the task (and deleted the PDF) meanwhile
        delay = retry_delay(failure, attempt)
        if delay is not None:
            log.warning(
                "range %d of task %s attempt %d: %s; retrying in %.0f s",
                *(k, rec.task_id, attempt, failure, delay),
            )
            self.publish(rec.task_id, k, delay)
            return
        log.info("range %d of task %s failed: %s", k, rec.task_id, failure)
        self._end(rec, plan, TaskStatus.FAILED, failure.code, failure.message)

    def _end(
        self,
        rec: TaskRecord,
        plan: Plan,
        status: TaskStatus,
        code: str = "",
        message: str = "",
    ) -> None:
        """Finish the parent (once, whoever calls), then delete the temporary PDF."""
        result = plan.result if status == TaskStatus.SUCCEEDED else None
        runner.finish(self.deps, rec, status, code=code, message=message, result=result)
        if status == TaskStatus.SUCCEEDED:
            log.info(
                "task %s succeeded (%d pages, %d ranges)", rec.task_id, plan.pages, len(plan.ranges)
            )
        scratch.delete(self.deps.storage, self.splits, plan.pdf)
        self.splits.drop(rec.task_id)
        if self._cache and self._cache.task_id == rec.task_id:
            self._drop_cache()

    # --- the shared PDF, downloaded once per process and task ---

    def _open(self, plan: Plan) -> pymupdf.Document:
        if self._cache and self._cache.task_id == plan.task_id:
            return self._cache.doc
        self._drop_cache()
        directory = Path(tempfile.mkdtemp(prefix=f"imm-split-{plan.task_id[:60]}-"))
        try:
            path = directory / "source.pdf"
            scratch.fetch(self.deps.storage, uris.parse_object(plan.pdf, "scratch"), path)
            doc = pdf_render.open_pdf(path, plan.password)
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        self._cache = _Cached(plan.task_id, directory, doc)
        return doc

    def _drop_cache(self) -> None:
        cached, self._cache = self._cache, None
        if cached is not None:
            with contextlib.suppress(Exception):
                cached.doc.close()
            shutil.rmtree(cached.path, ignore_errors=True)
