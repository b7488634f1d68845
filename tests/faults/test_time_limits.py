"""Long runs and the broker's visibility timeout (docs/architecture.md, "Reliability settings").

Redis hands an unacknowledged message out again once it has waited the visibility timeout,
whether or not its run is still going; so no run may outlive it. With the limits shortened
(conversion 5 s < soft 8 s < hard 12 s < visibility 20 s), two runs that go on too long:

- one that keeps working past the soft limit is stopped by it and fails `ConvertTimeout`;
- one whose process is frozen (SIGSTOP: it cannot even see the soft limit) is killed by
  Celery at the hard limit, and the worker's main process fails the task `ConvertTimeout`.

Both are finished and notified once, and neither is delivered again after the visibility
timeout has passed: the numbers reached Celery and kombu, and their order holds.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cluster import KEY_PREFIX, Cluster, Record, wait_until
from tests.support.service import Receiver

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.soffice, pytest.mark.corpus]

LIMITS = {
    "IMM_CONVERT_TIMEOUT": "5",
    "IMM_TASK_SOFT_TIME_LIMIT": "8",
    "IMM_TASK_TIME_LIMIT": "12",
    "IMM_VISIBILITY_TIMEOUT": "20",
    "IMM_SPLIT_MIN_PAGES": "0",  # one run per task: what these faults are about
}
SWEEP_S = 2  # restore_options(20): unacknowledged messages are looked for every 2 s


def test_runs_past_their_limits_fail_once_and_are_never_redelivered(
    make_cluster: Callable[..., Cluster], receiver: Receiver, corpus: Path
) -> None:
    cluster = make_cluster(LIMITS)
    client = cluster.client()
    record = Record(cluster.redis_url)
    # 619 PDF pages at 200 DPI: far more than 8 s of PyMuPDF rendering.
    source = cluster.put(corpus / "DA-619p.pdf")
    slow = cluster.submit(client, source, "png", image_dpi=200, out="slow")
    frozen = cluster.submit(client, source, "png", image_dpi=200, out="frozen")
    wait_until(
        "both runs rendering pages",
        lambda: all(int(record.get(t).get("progress", 0)) > 50 for t in (slow, frozen)),
        60,
        every=0.05,
    )
    delivered = time.time()
    worker = cluster.running(frozen)
    (child,) = cluster.pool_children(worker)
    os.kill(child, signal.SIGSTOP)

    for task_id in (slow, frozen):
        content = receiver.wait_for(task_id, 60).content
        assert (content["Status"], content["Code"]) == ("Failed", "ConvertTimeout"), content
    slow_msg = receiver.for_task(slow)[0].content["Message"]
    frozen_msg = receiver.for_task(frozen)[0].content["Message"]
    assert "within 8 s" in slow_msg
    assert "within 12 s" in frozen_msg and "killed" in frozen_msg
    wait_until("Celery's hard limit log", lambda: "Hard time limit (12" in worker.log(), 10)

    # Past the visibility timeout and one more sweep: had a message stayed unacknowledged,
    # it would have been handed out again by now.
    left = delivered + 20 + SWEEP_S + 4 - time.time()
    if left > 0:
        time.sleep(left)
    for task_id in (slow, frozen):
        fields = record.get(task_id)
        assert fields["status"] == "Failed"
        assert fields["attempts"] == "1", f"{task_id} was delivered again"
        assert len(receiver.for_task(task_id)) == 1
        logs = "".join(w.log(1_000_000) for w in cluster.workers())
        assert logs.count(f"[{task_id}] received") == 1
    assert record.r.hlen(f"{KEY_PREFIX}:celery:unacked") == 0

    # The worker replaced the killed process and takes work again.
    after = cluster.submit(client, cluster.put(corpus / "simple.docx"), "pdf", out="after")
    assert receiver.wait_for(after, 60).content["Status"] == "Succeeded"
