"""Celery settings for the two brokers (imm_engine/broker.py)."""

from __future__ import annotations

from imm_engine.broker import celery_config
from imm_engine.settings import Settings


def test_redis_broker_has_a_visibility_timeout_and_a_key_prefix() -> None:
    conf = celery_config(Settings.from_env({"IMM_REDIS_URL": "redis://r:6379/0"}))
    assert conf["broker_transport_options"] == {
        "visibility_timeout": 900,
        "global_keyprefix": "imm:celery:",
        # Dead workers' messages are looked for every 10 s (kombu's default: about 100 s).
        "unacked_restore_interval": 10,
        "unacked_restore_throttle": 1,
        # A Redis gone silent (host lost, frozen master) fails a command within 5 s instead of
        # blocking the worker's event loop for good; the restore lock outlives no failover long.
        "socket_timeout": 5,
        "socket_connect_timeout": 5,
        "health_check_interval": 10,
        "unacked_mutex_expire": 30,
    }


def test_amqp_broker() -> None:
    settings = Settings.from_env(
        {
            "IMM_REDIS_URL": "redis://r:6379/0",
            "IMM_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//",
            "IMM_KEY_PREFIX": "site1",
        }
    )
    conf = celery_config(settings)
    assert conf["broker_url"] == "amqp://guest:guest@127.0.0.1:5672//"
    assert conf["broker_transport_options"] == {}  # visibility_timeout is Redis-only
    assert conf["task_acks_late"] and conf["task_reject_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1
    # Longest run, far below RabbitMQ's default consumer_timeout of 30 minutes.
    assert conf["task_time_limit"] == 600 < 30 * 60
    assert [q.name for q in conf["task_queues"]] == [
        "site1.files",
        "site1.media",
        "site1.office",
        "site1.ranges",
    ]
    assert all(q.durable for q in conf["task_queues"])
