"""A worker killed with SIGKILL in the middle of a conversion: the task runs again, ends
Succeeded with every page, and its completion event reaches the receiver once (or, if ever
repeated, with the same EventId).

(a) only the Celery pool process and its soffice die; the worker's main process sees the
    child go and puts the message back at once (`task_reject_on_worker_lost`).
(b) the whole worker dies (main process, pool process, soffice); nobody is left to put the
    message back, so Redis hands it out again after the visibility timeout, through the
    other worker's periodic sweep of unacknowledged messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from tests.support.cluster import Cluster, Record, kill_all, wait_gone, wait_until
from tests.support.service import Receiver

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.soffice, pytest.mark.corpus]

#: Short limits so that re-delivery after the visibility timeout takes seconds, not minutes.
SHORT_LIMITS = {
    "IMM_CONVERT_TIMEOUT": "30",
    "IMM_TASK_SOFT_TIME_LIMIT": "35",
    "IMM_TASK_TIME_LIMIT": "40",
    "IMM_VISIBILITY_TIMEOUT": "45",
    "IMM_SPLIT_MIN_PAGES": "0",  # one run converts and renders all 40 pages
}
DOCUMENT = "handbook-872p.docx"
PAGES = 40  # about 4 s in LibreOffice, then 40 PNGs


def start_long_task(cluster: Cluster, corpus: Path) -> tuple[str, Record]:
    """Submit the conversion and return once LibreOffice is working on it (Progress 10)."""
    client = cluster.client()
    uri = cluster.put(corpus / DOCUMENT)
    task_id = cluster.submit(client, uri, "png", pages=f"1-{PAGES}", out="handbook")
    record = Record(cluster.redis_url)

    def converting() -> bool:
        body = client.get_task(_get_task(task_id)).body
        assert body.status == "Running", f"finished before it could be interrupted: {body}"
        return body.progress == 10

    wait_until("the conversion under way in LibreOffice", converting, 60, every=0.05)
    return task_id, record


def _get_task(task_id: str) -> object:
    from alibabacloud_imm20200930 import models as m

    return m.GetTaskRequest(
        project_name="test-project", task_type="OfficeConversion", task_id=task_id
    )


def check_finished_once(
    cluster: Cluster, receiver: Receiver, record: Record, task_id: str, timeout: float
) -> float:
    """Succeeded, run twice, every page a decodable PNG, one event (or repeats of it).
    Returns when the notification arrived (time.time())."""
    first = receiver.wait_for(task_id, timeout)
    time.sleep(2)  # a second completion, if any, would come right after the first
    body = cluster.client().get_task(_get_task(task_id)).body
    assert body.status == "Succeeded", (body.code, body.message, cluster.logs())
    assert body.progress == 100
    fields = record.get(task_id)
    assert int(fields["attempts"]) == 2, "the kill did not interrupt a run"

    content = first.content
    assert content["Status"] == "Succeeded"
    assert content["TargetCount"] == PAGES
    out = cluster.storage / "faults-bkt" / "out" / "handbook"
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"{i}.png" for i in range(1, PAGES + 1))
    for target in content["Targets"]:
        with Image.open(cluster.object(target["URI"])) as image:
            image.load()  # decodes every byte: a truncated page fails here
            assert image.format == "PNG"
            assert 600 < image.width < 1000 and 800 < image.height < 1300, image.size

    deliveries = receiver.for_task(task_id)
    event_ids = {d.headers["x-imm-event-id"] for d in deliveries}
    assert event_ids == {fields["event_id"]}, "a second completion event with another id"
    assert {d.message["id"] for d in deliveries} == event_ids
    assert len({d.body for d in deliveries}) == 1, "repeats must be byte-identical"
    assert len(deliveries) == 1, f"{len(deliveries)} deliveries of one event"
    log = record.deliveries(task_id)
    assert [e["State"] for e in log] == ["Delivered"]
    return first.received_at


def test_pool_process_killed_task_requeued_at_once(
    make_cluster: Callable[..., Cluster], receiver: Receiver, corpus: Path
) -> None:
    cluster = make_cluster(SHORT_LIMITS)
    task_id, record = start_long_task(cluster, corpus)
    worker = cluster.running(task_id)
    pool, soffice = cluster.pool_children(worker), cluster.soffice_of(worker)
    assert len(pool) == 1 and len(soffice) == 1, (pool, soffice, cluster.tree(worker))
    victims = pool + soffice
    killed_at = time.time()
    kill_all(victims)
    wait_gone(victims)

    arrived = check_finished_once(cluster, receiver, record, task_id, timeout=120)
    # Put back at once by the surviving main process, not after the visibility timeout.
    assert arrived - killed_at < 40, f"re-run took {arrived - killed_at:.0f} s"
    assert worker.alive()
    assert "WorkerLostError" in worker.log(1_000_000) or "signal 9" in worker.log(1_000_000)


def test_whole_worker_killed_task_redelivered_to_the_other(
    make_cluster: Callable[..., Cluster], receiver: Receiver, corpus: Path
) -> None:
    cluster = make_cluster(SHORT_LIMITS)
    task_id, record = start_long_task(cluster, corpus)
    delivered_at = float(record.get(task_id)["start_ts"])
    victim = cluster.running(task_id)
    survivor = next(w for w in cluster.workers() if w is not victim)
    cluster.kill_tree(victim)
    assert not victim.alive()
    assert survivor.alive()

    arrived = check_finished_once(cluster, receiver, record, task_id, timeout=150)
    assert f"[{task_id}] received" in survivor.log(1_000_000)
    # Re-delivered by the visibility timeout (45 s after delivery) plus one sweep (4 s).
    waited = arrived - delivered_at
    assert 45 <= waited < 45 + 4 + 60, f"re-delivered after {waited:.0f} s"
