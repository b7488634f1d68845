"""Every Redis key imm-engine writes, in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str = "imm"

    def task(self, task_id: str) -> str:
        """Hash: one task record. Expires `task_ttl` after the task started."""
        return f"{self.prefix}:task:{task_id}"

    def deliveries(self, task_id: str) -> str:
        """List: the delivery log of a task's completion event (JSON entries)."""
        return f"{self.prefix}:task:{task_id}:deliveries"

    def project_index(self, project: str) -> str:
        """Sorted set: task ids of a project scored by start time in ms."""
        return f"{self.prefix}:project:{project}:tasks"

    def nonce(self, access_key_id: str, nonce: str) -> str:
        """String: a signature nonce seen recently (replay protection)."""
        return f"{self.prefix}:nonce:{access_key_id}:{nonce}"

    @property
    def outbox(self) -> str:
        """Stream: events waiting for delivery, one entry per (event, destination)."""
        return f"{self.prefix}:outbox"

    @property
    def outbox_group(self) -> str:
        return "notifiers"

    @property
    def outbox_probe(self) -> str:
        """String: a dispatcher writes it before it WAITs for replicas (notify/dispatcher.py)."""
        return f"{self.prefix}:outbox:probe"

    @property
    def outbox_retry(self) -> str:
        """Sorted set: deliveries waiting for their next attempt, scored by due time."""
        return f"{self.prefix}:outbox:retry"

    @property
    def outbox_dead(self) -> str:
        """List: deliveries that exhausted their attempts (kept for replay)."""
        return f"{self.prefix}:outbox:dead"

    @property
    def celery_prefix(self) -> str:
        """Prefix of every key kombu's Redis transport writes (its `global_keyprefix`)."""
        return f"{self.prefix}:celery:"

    def queue(self, name: str) -> str:
        """Celery queue name."""
        return f"{self.prefix}.{name}"

    # --- projects and task listing ---

    def task_list_index(
        self, project: str, family: str, dimension: str = "", value: str = ""
    ) -> str:
        """Sorted set: one ListTasks index of a project (imm_engine/state/task_index.py).

        `family` is the sort order (`id`: lexical by TaskId, `start`: by start time in ms,
        `end`: by end time in ms); `dimension`/`value` narrow it to one task type or status.
        The start-time index of all tasks is `project_index`, which predates the others.
        """
        if family == "start" and not dimension:
            return self.project_index(project)
        base = f"{self.prefix}:project:{project}:tasks:{family}"
        return f"{base}:{dimension}:{value}" if dimension else base

    def task_tags(self, project: str) -> str:
        """Hash: TaskId -> the tags JSON of each tagged task of a project, so the tag indexes
        of a task can be trimmed after its record expired (imm_engine/state/task_index.py)."""
        return f"{self.prefix}:project:{project}:tasks:tags"

    def task_tags_ready(self, project: str) -> str:
        """String: set once every task of the project is in its tag indexes (tasks created
        before tags were indexed are added by the first TagSelector listing)."""
        return f"{self.prefix}:project:{project}:tasks:tags:ready"

    def task_tags_walk(self, project: str) -> str:
        """String, expiring: a process is adding the project's older tasks to its tag sets."""
        return f"{self.prefix}:project:{project}:tasks:tags:walk"

    def project_record(self, project: str) -> str:
        """Hash: one project (CreateProject's fields)."""
        return f"{self.prefix}:project:{project}"

    @property
    def project_names(self) -> str:
        """Sorted set, every score 0: the names of all projects (ListProjects, by name)."""
        return f"{self.prefix}:projects"

    def quarantine(self, digest: str) -> str:
        """Hash: LibreOffice crashes and timeouts caused by the document whose SHA-256 is
        `digest` (`strikes`, `last_code`, `last_task`). Expires `IMM_QUARANTINE_TTL` after
        the last one (workers/failures/quarantine.py)."""
        return f"{self.prefix}:quarantine:{digest}"

    def task_event(self, task_id: str) -> str:
        """String: a task's completion message as first sent, kept with the delivery log so
        the event can be replayed byte for byte (imm_engine/notify/replay.py)."""
        return f"{self.prefix}:task:{task_id}:event"

    def task_event_bodies(self, task_id: str) -> str:
        """Hash: destination -> the body first sent to it, where destinations of one task get
        different bodies (a 2017 task: its topic the 2017 event, `*` routes the 2020 one)."""
        return f"{self.prefix}:task:{task_id}:events"

    def legacy_idempotency(self, digest: str) -> str:
        """String: the TaskId a 2017 request with an IdempotentToken created (12 h)."""
        return f"{self.prefix}:legacy2017:idempotent:{digest}"

    def converting(self, digest: str, task_id: str) -> str:
        """String: task `task_id` is converting the document `digest` in LibreOffice; found
        by the next run of the task if the worker died meanwhile
        (workers/failures/quarantine.py)."""
        return f"{self.prefix}:quarantine:{digest}:converting:{task_id}"

    # --- split page rendering (workers/split/) ---

    def split_plan(self, task_id: str) -> str:
        """Hash: the page ranges of a split task, the temporary PDF they share, the result."""
        return f"{self.prefix}:split:{task_id}"

    def split_done(self, task_id: str) -> str:
        """Set: the numbers of the ranges of a split task that are written."""
        return f"{self.prefix}:split:{task_id}:done"

    def written_pages(self, task_id: str) -> str:
        """Set: the document page numbers whose output is written (early pages, progress)."""
        return f"{self.prefix}:written:{task_id}"

    @property
    def split_scratch(self) -> str:
        """Sorted set: temporary PDFs of split tasks (oss:// URIs) scored by the time after
        which nothing needs them any more (the sweeper deletes them then)."""
        return f"{self.prefix}:split:scratch"
