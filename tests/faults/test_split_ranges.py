"""A split task (issue 12) whose worker is killed in the middle of a page range: only that
range runs again, the task ends Succeeded with every page and notifies once. While both
workers are frozen mid-task, GetTask's `WrittenPages` (IMM_EARLY_PAGES) names exactly pages
whose objects exist.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymupdf
import pytest
from alibabacloud_imm20200930 import models as m
from PIL import Image

from tests.support.cluster import (
    BUCKET,
    Cluster,
    Proc,
    Record,
    kill_all,
    process_tree,
    wait_gone,
    wait_until,
)
from tests.support.service import Receiver, raw_call, signed_headers

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.soffice]

PAGES = 40
RANGE = 5
DPI = 200  # heavy enough pages (about 0.2 s each) to catch a range in the middle
ENV = {
    "IMM_CONVERT_TIMEOUT": "30",
    "IMM_TASK_SOFT_TIME_LIMIT": "35",
    "IMM_TASK_TIME_LIMIT": "40",
    "IMM_VISIBILITY_TIMEOUT": "45",
    "IMM_SPLIT_MIN_PAGES": "10",
    "IMM_SPLIT_RANGE_PAGES": str(RANGE),
    "IMM_EARLY_PAGES": "true",
}


def make_pdf(path: Path) -> Path:
    doc = pymupdf.open()
    for n in range(1, PAGES + 1):
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 72), f"Page {n}", fontsize=24)
        for y in range(120, 800, 12):  # lines of text: real rendering and encoding work
            page.insert_text((72, y), f"{n} " * 40, fontsize=9)
    doc.save(path)
    doc.close()
    return path


def ranges_in(log: str, task_id: str, event: str) -> list[int]:
    return [int(k) for k in re.findall(rf"RenderRange\[{re.escape(task_id)}~(\d+)\] {event}", log)]


def running_range(cluster: Cluster, task_id: str) -> tuple[Proc, int] | None:
    """A worker in the middle of a range (received, not yet finished), and the range."""
    for worker in cluster.workers():
        log = worker.log(1_000_000)
        busy = set(ranges_in(log, task_id, "received")) - set(ranges_in(log, task_id, "succeeded"))
        if busy:
            return worker, busy.pop()
    return None


def raw_get_task(cluster: Cluster, task_id: str) -> dict[str, Any]:
    """GetTask's JSON body as sent (the SDK's model keeps only the fields it knows)."""
    query = {"ProjectName": "test-project", "TaskType": "OfficeConversion", "TaskId": task_id}
    response = raw_call(cluster.api_port, query, signed_headers(cluster.api_port, "GetTask", query))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def pages_of(spec: str) -> list[int]:
    out: list[int] = []
    for part in filter(None, spec.split(",")):
        lo, _, hi = part.partition("-")
        out += range(int(lo), int(hi or lo) + 1)
    return out


@pytest.mark.parametrize("kill", ["pool", "whole"])
def test_worker_killed_mid_range_costs_that_range_only(
    make_cluster: Callable[..., Cluster], receiver: Receiver, tmp_path: Path, kill: str
) -> None:
    """`pool`: the pool process (and its soffice) dies; its main process puts the range back
    at once. `whole`: the whole worker dies; the other worker's sweep puts the range back
    after the visibility timeout (45 s here)."""
    cluster = make_cluster(ENV)
    uri = cluster.put(make_pdf(tmp_path / "forty.pdf"))
    client = cluster.client()
    task_id = cluster.submit(client, uri, "png", image_dpi=DPI, out="forty")
    record = Record(cluster.redis_url)

    found = wait_until("a range under way", lambda: running_range(cluster, task_id), 90, 0.02)
    victim, k = found
    pools = [p for w in cluster.workers() for p in cluster.pool_children(w)]
    for pid in pools:  # freeze both workers: nothing is written while we look
        os.kill(pid, signal.SIGSTOP)
    try:
        raw = raw_get_task(cluster, task_id)
        written = pages_of(raw["WrittenPages"]["Pages"])
        assert raw["WrittenPages"]["Count"] == len(written)
        out = cluster.storage / BUCKET / "out" / "forty"
        on_disk = {int(p.stem) for p in out.glob("*.png")} if out.exists() else set()
        assert set(written) <= on_disk, "a page said written does not exist"
        assert len(on_disk) - len(written) <= 2, "one page per process at most in flight"
        assert len(written) < PAGES
        assert raw["Status"] == "Running"
        assert raw["Progress"] == 50 + 49 * len(written) // PAGES
        sdk = client.get_task(
            m.GetTaskRequest(
                project_name="test-project", task_type="OfficeConversion", task_id=task_id
            )
        ).body
        assert (sdk.status, sdk.progress) == ("Running", raw["Progress"]), "the SDK still parses"
    finally:
        if kill == "pool":
            victims = cluster.pool_children(victim) + cluster.soffice_of(victim)
            kill_all(victims)
        else:
            victims = process_tree(victim.popen.pid)
            cluster.kill_tree(victim)
        for pid in pools:
            if pid not in victims:
                os.kill(pid, signal.SIGCONT)
    wait_gone(victims)

    first = receiver.wait_for(task_id, 150)
    time.sleep(2)  # a second completion, if any, would come right after the first
    content = first.content
    assert content["Status"] == "Succeeded", (content, cluster.logs())
    assert content["PageCount"] == PAGES
    assert content["TargetCount"] == PAGES
    assert len(receiver.for_task(task_id)) == 1, "one completion event"
    fields = record.get(task_id)
    assert fields["progress"] == "100"
    assert int(fields["attempts"]) == 1, "the parent ran once: the kill cost only the range"
    names = sorted(p.name for p in (cluster.storage / BUCKET / "out" / "forty").iterdir())
    assert names == sorted(f"{n}.png" for n in range(1, PAGES + 1))
    for n in range(1, PAGES + 1):
        with Image.open(cluster.storage / BUCKET / "out" / "forty" / f"{n}.png") as image:
            image.load()  # a page cut short by the kill would fail to decode
            assert image.size == (round(595 * DPI / 72), round(842 * DPI / 72))

    logs = "".join(w.log(1_000_000) for w in cluster.procs if w.name.startswith("worker"))
    received = ranges_in(logs, task_id, "received")
    assert received.count(k) == 2, f"range {k} ran again: {sorted(received)}"
    assert sorted(set(received)) == list(range(1, PAGES // RANGE))
    assert len(received) == PAGES // RANGE - 1 + 1, "no other range ran twice"
    scratch = cluster.storage / BUCKET / ".imm-engine" / "split" / task_id
    assert not scratch.exists() or not any(scratch.iterdir()), "the temporary PDF is left"
