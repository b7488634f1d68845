"""The clients of imm_engine/state/connection.py across a Sentinel failover: after the master
is SIGKILLed, a command fails fast with a ConnectionError while there is no master, then goes
to the promoted replica by itself; a Lua script registered before runs there (NOSCRIPT: the
new master's script cache is empty, redis-py loads it again); the asyncio client follows too;
and a write WAITed for on one replica before the kill is on the new master."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from imm_engine.state import connection
from tests.support.cluster import wait_until
from tests.support.needs import need
from tests.support.sentinel import SentinelGroup

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
