"""`imm-engine convert`: upload, submit CreateOfficeConversionTask, show progress, wait for the
completion notification, then list (and optionally copy) the outputs."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from alibabacloud_imm20200930 import models as m
from alibabacloud_imm20200930.client import Client
from rich.console import Console
from rich.table import Table

from imm_engine.client import summary
from imm_engine.client.cli_route import (
    CLI_TOPIC,
    CliStream,
    effective_stream,
    read_runtime,
    stream_from_document,
)
from imm_engine.client.inputs import Input, collect, slot_names, upload
from imm_engine.client.progress import Reporter, reporter
from imm_engine.client.sdk import ApiRefused, build_client, call, check_reachable
from imm_engine.client.state import TERMINAL, Output, TaskState
from imm_engine.client.stream import EventReader
from imm_engine.settings import Settings
from imm_engine.state import connection
from imm_engine.storage import open_store
from imm_engine.storage.base import ObjectStore, StorageError
from imm_engine.storage.local import LocalStore
from imm_engine.storage.router import RoutingStore
from imm_engine.targets.uris import parse_object, parse_prefix

#: How often GetTask is asked for progress.
POLL_INTERVAL_S = 0.5
#: How long after GetTask shows a task finished its notification may still take to arrive.
NOTIFICATION_GRACE_S = 15.0
#: Task tag naming the CLI run, for `imm-engine tasks --tag imm-cli-run=<run>`.
RUN_TAG = "imm-cli-run"


@dataclass(frozen=True)
class ConvertOptions:
    sources: list[str]
    target_type: str
    project: str
    endpoint: str
    pages: str | None = None
    out: Path | None = None
    bucket: str = "imm-cli"
    wait: bool = True
    timeout_s: float = 600.0
    as_json: bool = False
    recursive: bool = False


def find_stream(settings: Settings, endpoint: str) -> CliStream | None:
    """Where the service sends CLI_TOPIC's events: what `up` recorded for this endpoint in
    <IMM_DATA_DIR>/cli.json, else what these settings (IMM_REDIS_URL, ...) imply."""
    doc = read_runtime(settings.data_dir)
    if doc.get("endpoint") == endpoint:
        return stream_from_document(doc)
    url = connection.with_sentinel_password(
        settings.redis_url, settings.redis_sentinel_password.get_secret_value()
    )
    return effective_stream(settings.notify_routes, url, settings.key_prefix)


class Run:
    def __init__(
        self, settings: Settings, opts: ConvertOptions, out: Console, err: Console
    ) -> None:
        self.settings = settings
        self.opts = opts
        self.out = out
        self.err = err
        self.run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self.client: Client = build_client(settings, opts.endpoint)
        self.store: ObjectStore = open_store(settings)
        self.reader: EventReader | None = None
        self.warned: set[str] = set()
        self.states: list[TaskState] = []
        self.progress: Reporter | None = None

    # --- steps ---

    def execute(self) -> int:
        """Exit status: 0 all succeeded, 1 some failed. Raises UsageError / ApiUnreachable."""
        inputs = collect(self.opts.sources, self.opts.recursive)
        check_reachable(self.opts.endpoint)
        self.reader = self.open_reader()
        slots = slot_names(inputs)
        self.states = [TaskState(i.label, s) for i, s in zip(inputs, slots, strict=True)]
        self.progress = reporter(self.err, len(self.states))
        try:
            for item, state in zip(inputs, self.states, strict=True):
                self.progress.add(state)
                self.submit(item, state)
                self.progress.update(state)
            if self.opts.wait:
                self.wait()
        finally:
            self.progress.close()
            if self.reader is not None:
                self.reader.close()
        if self.opts.wait:
            for state in self.states:
                if state.ok:
                    self.collect_outputs(state)
        self.print_summary()
        if not self.opts.wait:
            return 0 if all(s.task_id for s in self.states) else 1
        return 0 if all(s.ok for s in self.states) else 1

    def warn(self, key: str, text: str) -> None:
        if key not in self.warned:
            self.warned.add(key)
            if self.progress is not None:
                self.progress.note(f"imm-engine convert: {text}")
            else:
                self.err.print(f"imm-engine convert: {text}", markup=False, highlight=False)

    def open_reader(self) -> EventReader | None:
        if not self.opts.wait:
            return None
        where = find_stream(self.settings, self.opts.endpoint)
        if where is None:
            self.warn(
                "polling",
                f"no notification route for topic {CLI_TOPIC} is configured (see docs/cli.md); "
                "waiting by polling GetTask instead",
            )
            return None
        reader = EventReader(where)
        try:
            reader.start()
        except redis.RedisError as exc:
            reader.close()
            self.warn(
                "polling",
                f"cannot read the notification stream {where.stream} ({exc}); "
                "waiting by polling GetTask instead",
            )
            return None
        return reader

    def submit(self, item: Input, state: TaskState) -> None:
        now = time.time()
        state.started = now
        if item.path is not None:
            state.status = "Uploading"
            try:
                item = upload(self.store, item, self.opts.bucket, self.run_id, state.slot)
            except StorageError as exc:
                state.fail("UploadFailed", str(exc), time.time())
                return
        state.source_uri = item.uri
        state.target_prefix = f"oss://{self.opts.bucket}/out/{self.run_id}/{state.slot}/"
        try:
            state.task_id = self.create_task(state)
        except ApiRefused as exc:
            state.fail(exc.code, exc.message, time.time())
            return
        state.status = "Running"

    def create_task(self, state: TaskState) -> str:
        def request(notify: bool) -> m.CreateOfficeConversionTaskRequest:
            return m.CreateOfficeConversionTaskRequest(
                project_name=self.opts.project,
                source_uri=state.source_uri,
                target_type=self.opts.target_type,
                target_uriprefix=state.target_prefix,
                pages=self.opts.pages,
                tags={RUN_TAG: self.run_id},
                notification=m.Notification(mns=m.MNS(topic_name=CLI_TOPIC)) if notify else None,
            )

        notify = self.reader is not None
        try:
            response = call(
                self.opts.endpoint,
                lambda: self.client.create_office_conversion_task(request(notify)),
            )
        except ApiRefused as exc:
            if not (notify and "is not configured on this server" in exc.message):
                raise
            self.reader = None
            self.warn(
                "polling",
                f"the service has no route for topic {CLI_TOPIC} (see docs/cli.md); "
                "waiting by polling GetTask instead",
            )
            response = call(
                self.opts.endpoint,
                lambda: self.client.create_office_conversion_task(request(False)),
            )
        return str(response.body.task_id)

    def wait(self) -> None:
        assert self.progress is not None
        by_id = {s.task_id: s for s in self.states if s.task_id}
        deadline = time.monotonic() + self.opts.timeout_s
        while pending := [s for s in by_id.values() if not s.done]:
            if time.monotonic() > deadline:
                for s in pending:
                    s.status, s.code = "TimedOut", "Timeout"
                    s.message = (
                        f"not finished within {self.opts.timeout_s:g} s; it goes on: "
                        f"imm-engine task {s.task_id}"
                    )
                    s.finished = time.time()
                    self.progress.update(s)
                return
            self.read_events(by_id)
            for s in pending:
                if not s.done:
                    self.poll(s)
                self.progress.update(s)

    def read_events(self, by_id: dict[str, TaskState]) -> None:
        if self.reader is None:
            time.sleep(POLL_INTERVAL_S)
            return
        try:
            events = self.reader.read(block_ms=int(POLL_INTERVAL_S * 1000))
        except redis.RedisError as exc:
            self.reader = None
            self.warn("polling", f"lost the notification stream ({exc}); polling GetTask")
            return
        for content in events:
            state = by_id.get(str(content.get("TaskId")))
            if state is not None and not state.done:
                apply_event(state, content, time.time())

    def poll(self, state: TaskState) -> None:
        request = m.GetTaskRequest(
            project_name=self.opts.project, task_id=state.task_id, task_type="OfficeConversion"
        )
        try:
            body = call(self.opts.endpoint, lambda: self.client.get_task(request)).body
        except ApiRefused:
            return
        state.progress = int(body.progress or 0)
        if body.status not in TERMINAL:
            return
        now = time.time()
        if self.reader is not None:
            state.polled_done_at = state.polled_done_at or now
            if now - state.polled_done_at < NOTIFICATION_GRACE_S:
                return  # the notification is on its way
            self.warn(
                f"late-{state.task_id}",
                f"no notification for {state.task_id} {NOTIFICATION_GRACE_S:g} s after it "
                "finished; using GetTask",
            )
        state.status = str(body.status)
        state.code, state.message = str(body.code or ""), str(body.message or "")
        state.finished = now
        state.completion = "polling"

    def collect_outputs(self, state: TaskState) -> None:
        prefix = parse_prefix(state.target_prefix, "TargetURIPrefix")
        listed: list[str] = []
        if isinstance(self.store, RoutingStore):
            listed = [key for key, _info in self.store.list_prefix(prefix.bucket, prefix.key)]
        backend = (
            self.store.backend(prefix.bucket) if isinstance(self.store, RoutingStore) else None
        )
        for key in sorted(listed, key=summary.natural_key):
            uri = parse_object(f"oss://{prefix.bucket}/{key}", "TargetURI")
            output = Output(str(uri))
            if isinstance(backend, LocalStore):
                output.path = backend.path_of(uri)
            if self.opts.out is not None:
                dest = self.opts.out / state.slot / key[len(prefix.key) :]
                dest.parent.mkdir(parents=True, exist_ok=True)
                self.store.download(uri, dest, max_bytes=1 << 40)
                output.copied = dest.absolute()
            state.outputs.append(output)
        if state.page_count is None and state.outputs and self.opts.target_type != "pdf":
            state.page_count = len(state.outputs)

    def print_summary(self) -> None:
        if self.opts.as_json:
            doc = summary.document(self.run_id, self.opts.project, self.states)
            doc["waited"] = self.opts.wait
            self.out.file.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
            self.out.file.flush()
            return
        table = Table(title=f"imm-engine convert {self.run_id} ({self.opts.project})")
        for header in summary.HEADERS:
            table.add_column(header, overflow="fold")
        if not self.opts.wait:
            table.add_column("TaskId", overflow="fold")
        for state in self.states:
            cells = summary.row(state)
            if not self.opts.wait:
                cells[1] = "Submitted" if state.task_id else state.status
                table.add_row(*cells, state.task_id)
            else:
                table.add_row(*cells)
        self.out.print(table)
        mode = summary.completion_mode(self.states)
        ok = sum(1 for s in self.states if s.ok)
        if self.opts.wait:
            self.out.print(
                f"{ok} of {len(self.states)} succeeded (completion learnt by {mode})",
                markup=False,
                highlight=False,
            )


def apply_event(state: TaskState, content: dict[str, Any], now: float) -> None:
    """A completion notification's content decides the task's outcome."""
    state.status = str(content.get("Status") or "Failed")
    state.code = str(content.get("Code") or "")
    state.message = str(content.get("Message") or "")
    pages = content.get("PageCount")
    state.page_count = pages if isinstance(pages, int) else None
    state.finished = now
    state.completion = "notification"
    if state.ok:
        state.progress = 100


def run(settings: Settings, opts: ConvertOptions, out: Console, err: Console) -> int:
    return Run(settings, opts, out, err).execute()
