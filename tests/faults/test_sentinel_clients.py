"""The clients of imm_engine/state/connection.py across a Sentinel failover: after the master
is SIGKILLed, a command fails fast with a ConnectionError while there is no master, then goes
to the promoted replica by itself; a Lua script registered before runs there (NOSCRIPT: the
new master's script cache is empty, redis-py loads it again); the asyncio client follows too;
and a write WAITed for on one replica before the kill is on the new master. A master that goes
silent instead (SIGSTOP: no FIN, no RST, like a lost host) cannot block a Celery broker command
for good: it fails within the socket timeout, and the next connection finds the new master."""

from __future__ import annotations

import asyncio
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis
from celery import Celery

from imm_engine.broker import celery_config
from imm_engine.settings import Settings
from imm_engine.state import connection
from tests.support.cluster import wait_until
from tests.support.needs import need
from tests.support.sentinel import SentinelGroup

if TYPE_CHECKING:
    from kombu.transport.redis import Channel

pytestmark = [pytest.mark.faults]


@pytest.fixture()
def group(tmp_path: Path) -> Iterator[SentinelGroup]:
    need(shutil.which("redis-server") is not None, "redis-server (make deps)")
    g = SentinelGroup(tmp_path / "redis").start()
    yield g
    g.stop()


def test_clients_follow_the_new_master(group: SentinelGroup) -> None:
    client = connection.connect(group.url, socket_timeout=2)
    script = client.register_script("return redis.call('INCR', KEYS[1])")
    assert script(keys=["n"]) == 1
    client.set("accepted", "yes")
    assert client.execute_command("WAIT", 1, 2000) >= 1
    old = group.kill_master()

    failures = 0

    def written() -> bool:
        nonlocal failures
        started = time.monotonic()
        try:
            client.set("after", "1")
            return True
        except redis.exceptions.ConnectionError:
            failures += 1
            assert time.monotonic() - started < 5, "a command hung while there was no master"
            return False

    wait_until("a write to the promoted replica", written, 60, every=0.1)
    assert failures >= 1  # the first write after the kill had no master
    assert group.master().port != old.port
    assert client.get("accepted") == b"yes"  # acknowledged by a replica: kept
    assert client.script_exists(script.sha) == [False]  # the new master never loaded it
    assert script(keys=["n"]) == 2  # NOSCRIPT on the new master: loaded again and run

    async def read_async() -> bytes | None:
        aclient = connection.connect_async(group.url)
        try:
            value: bytes | None = await aclient.get("after")
            return value
        finally:
            await aclient.aclose()

    assert asyncio.run(read_async()) == b"1"


def test_broker_command_on_a_frozen_master_is_bounded(group: SentinelGroup) -> None:
    """The stall of issue 15: with kombu's default (no socket timeout) the restore sweep's lock
    (SET NX on the old master) waited for a reply forever and the worker's event loop with it."""
    app = Celery("frozen-master", set_as_current=False)
    app.conf.update(celery_config(Settings.from_env({"IMM_REDIS_URL": group.url})))
    frozen = group.master()
    with app.connection_for_write() as conn:
        channel: Channel = conn.default_channel
        channel.qos.restore_visible(interval=1)  # the sweep a worker runs every few seconds
        assert frozen.proc is not None
        frozen.proc.send_signal(signal.SIGSTOP)
        try:
            outcome: list[BaseException | None] = []

            def sweep() -> None:
                try:
                    channel.qos.restore_visible(interval=1)
                    outcome.append(None)
                except BaseException as exc:  # what it raises does not matter, only that it ends
                    outcome.append(exc)

            started = time.monotonic()
            thread = threading.Thread(target=sweep, daemon=True)
            thread.start()
            thread.join(60)
            assert outcome, "a broker command on the frozen master never returned"
            # One socket timeout per try (redis-py retries), not forever.
            assert time.monotonic() - started < 40
            wait_until("a replica promoted", lambda: group.promoted(frozen), 60)
            conn.ensure_connection(max_retries=10, interval_start=0.5)
            new = conn.default_channel.client.connection_pool.get_master_address()
            assert new[1] != frozen.port
            assert conn.default_channel.client.info("replication")["role"] == "master"
        finally:
            frozen.kill(signal.SIGKILL)
