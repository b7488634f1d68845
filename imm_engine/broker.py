"""The Celery wiring shared by the API and the workers: settings, task names, and publishing
(the API only publishes and never imports the worker code)."""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Exchange, Queue

from imm_engine.settings import Settings
from imm_engine.state import connection
from imm_engine.state.keys import Keys

#: Queue (without the key prefix) of the page ranges of split tasks (workers/split/). Its own
#: queue, so that a worker alternates between ranges and new tasks (kombu's Redis transport
#: rotates the queues it reads) instead of making every task wait behind a large one's ranges.
RANGES_QUEUE = "ranges"


def task_name(task_type: str) -> str:
    """The Celery task that runs an IMM task type, e.g. `imm.OfficeConversion`."""
    return f"imm.{task_type}"


def broker_url(settings: Settings) -> str:
    """The broker URL in kombu's spelling (`unix://` -> `redis+socket://`, Sentinel URLs ->
    `sentinel://host:port;...`)."""
    return connection.kombu_broker(
        settings.effective_broker_url, settings.redis_sentinel_password.get_secret_value()
    )[0]


def is_redis_broker(settings: Settings) -> bool:
    return broker_url(settings).startswith(("redis", "sentinel"))


#: Bounds on every broker connection (kombu's Redis and Sentinel transports; kombu's defaults
#: are no bounds). A Redis that disappears without closing its connections (its host or the
#: network lost; in the fault tests a SIGSTOPped master while the Sentinels promote a replica)
#: otherwise left each worker's event loop blocked for good in a synchronous command on the
#: old connection: the restore sweep taking its lock, a task event, an ack. Nothing else runs
#: in that loop (not kombu's own BRPOP health check), so the workers stopped consuming and the
#: API's publish hung (docs/architecture.md, "Redis on Sentinel"). With a timeout the command
#: fails, Celery reconnects, and on Sentinel the new connection goes to the new master.
DEAD_PEER_OPTIONS: dict[str, int] = {
    # Above any reply time of kombu's commands (BRPOP is answered within brpop_timeout, 1 s,
    # and read only once readable); below the API's answer times.
    "socket_timeout": 5,
    "socket_connect_timeout": 5,
    # A BRPOP or subscription left without a reply is dropped after 1 + 10 s (25 s by default),
    # and a connection idle that long is PINGed before it is used again.
    "health_check_interval": 10,
    # The restore sweep's lock expires in 30 s, not kombu's 300: a master killed while a
    # worker held it leaves it on the promoted replica, and no sweep runs until it expires
    # (an ack lost with the master would wait 5 minutes, not the visibility timeout).
    "unacked_mutex_expire": 30,
}


def celery_config(settings: Settings) -> dict[str, Any]:
    keys = Keys(settings.key_prefix)
    url, transport = connection.kombu_broker(
        settings.effective_broker_url, settings.redis_sentinel_password.get_secret_value()
    )
    if is_redis_broker(settings):
        # Above the hard time limit: a task still running is never handed to another worker.
        transport["visibility_timeout"] = settings.visibility_timeout_s
        transport.update(restore_options(settings.visibility_timeout_s))
        transport.update(DEAD_PEER_OPTIONS)
        # Several deployments (and the test suite) can share one Redis.
        transport["global_keyprefix"] = keys.celery_prefix
    # On RabbitMQ (amqp://) there is no visibility timeout: an unacknowledged message goes back
    # to the queue when its consumer's connection closes, and RabbitMQ's consumer_timeout
    # (30 min by default) is far above the hard time limit (docs/storage.md, "Broker").
    return {
        "broker_url": url,
        "broker_transport_options": transport,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 5,
        "task_default_queue": keys.queue("default"),
        "task_queues": task_queues(settings),
        "task_ignore_result": True,
        "result_backend": None,
        # At-least-once: acknowledge after the run; a lost worker's task is delivered again.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": settings.task_time_limit_s,
        "task_soft_time_limit": settings.task_soft_time_limit_s,
        # Events for Flower; "sent" events let it show queued tasks too.
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "worker_hijack_root_logger": False,
        "worker_cancel_long_running_tasks_on_connection_loss": False,
    }


def restore_options(visibility_timeout_s: int) -> dict[str, int]:
    """How often live Redis consumers look for messages unacknowledged past the visibility
    timeout (a whole worker died) and put them back in their queue.

    kombu's default sweeps every 10 s but scans only every 10th sweep (about 100 s between
    scans); one scan every tenth of the visibility timeout (at most 10 s) puts a dead worker's
    task back at most 10% after the timeout, for one ZRANGE per interval."""
    return {
        "unacked_restore_interval": max(1, min(10, visibility_timeout_s // 10)),
        "unacked_restore_throttle": 1,
    }


def task_queues(settings: Settings) -> list[Queue]:
    """One direct queue per task-type queue name, declared alike by publisher and consumer."""
    from imm_engine.tasktypes import TASK_TYPES

    keys = Keys(settings.key_prefix)
    names = sorted({keys.queue(spec.queue) for spec in TASK_TYPES} | {keys.queue(RANGES_QUEUE)})
    return [Queue(name, Exchange(name, type="direct"), routing_key=name) for name in names]


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
