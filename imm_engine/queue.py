"""Publishing tasks to the workers (the API never imports the worker code)."""

from __future__ import annotations

from celery import Celery

from imm_engine.celery_config import celery_config, task_name
from imm_engine.settings import Settings
from imm_engine.state.keys import Keys


class TaskQueue:
    def __init__(self, settings: Settings) -> None:
        self.keys = Keys(settings.key_prefix)
        self.app = Celery("imm-engine-api", set_as_current=False)
        self.app.conf.update(celery_config(settings))

    def submit(self, task_type: str, task_id: str, queue: str) -> None:
        """Queue one run of the task. The Celery task id is the IMM TaskId (Flower shows it)."""
        self.app.send_task(
            task_name(task_type),
            args=[task_id],
            task_id=task_id,
            queue=self.keys.queue(queue),
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2},
        )

    def close(self) -> None:
        self.app.close()
