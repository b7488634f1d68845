"""Kills from outside are not blamed on the document (issue 15.4).

Two workers convert 31 good documents (16 different ones) while LibreOffice is SIGKILLed from
outside again and again (as the OOM killer, an operator or a deploy would), twice in a row
on the same long task on purpose, and a Celery pool process twice. Before, a task whose
LibreOffice was killed twice failed `ConverterCrashed` and a document killed twice was
quarantined; now every task ends Succeeded, notified once, and no document has a strike.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from alibabacloud_imm20200930 import models as m

from tests.support.cluster import KEY_PREFIX, Cluster, Record, kill_all, wait_until
from tests.support.service import Receiver

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.soffice, pytest.mark.corpus]

LIMITS = {
    "IMM_CONVERT_TIMEOUT": "60",
    "IMM_TASK_SOFT_TIME_LIMIT": "90",
    "IMM_TASK_TIME_LIMIT": "100",
    "IMM_VISIBILITY_TIMEOUT": "110",
    "IMM_SPLIT_MIN_PAGES": "0",  # the target's 40 pages stay one run
}
#: The long task killed twice on purpose (40 pages: about 4 s in LibreOffice), then fifteen
#: others.
TARGET = "handbook-872p.docx"
OTHERS = [
    "fake.docx", "simple.docx", "page-breaks.docx", "contains-pictures.docx", "docx-tables.docx",
    "docx-hdrftr.docx", "example-list-items-multiple.docx", "tables-with-incomplete-rows.docx",
    "fake-power-point.pptx", "sample-presentation.pptx", "fake-power-point-table.pptx",
    "vodafone.xlsx", "stanley-cups.xlsx", "fake.odt", "handbook-1p.docx",
]  # fmt: skip


def soffices(cluster: Cluster) -> list[int]:
    return [pid for w in cluster.workers() for pid in cluster.soffice_of(w)]


def get_task(cluster: Cluster, task_id: str) -> m.GetTaskResponseBody:
    request = m.GetTaskRequest(
        project_name="test-project", task_type="OfficeConversion", task_id=task_id
    )
    return cluster.client().get_task(request).body


def test_a_storm_of_kills_fails_no_good_document(
    make_cluster: Callable[..., Cluster], receiver: Receiver, corpus: Path
) -> None:
    cluster = make_cluster(LIMITS)
    client = cluster.client()
    record = Record(cluster.redis_url)
    target = cluster.submit(client, cluster.put(corpus / TARGET), "png", pages="1-40", out="t")

    # Twice in a row on the same task, each time while LibreOffice works on it.
    for attempt in (1, 2):

        def converting(attempt: int = attempt) -> bool:
            body = get_task(cluster, target)
            assert body.status == "Running", f"finished before kill {attempt}: {body}"
            return body.progress == 10 and record.get(target).get("attempts") == str(attempt)

        wait_until(f"the target converting, run {attempt}", converting, 120, every=0.05)
        time.sleep(0.8)  # well into loading the 872-page document (about 2.5 s)
        assert get_task(cluster, target).status == "Running"
        kill_all(soffices(cluster))

    others = [
        cluster.submit(client, cluster.put(corpus / name), "png", pages="1-3", out=name)
        for name in OTHERS * 2
    ]
    # Meanwhile, random kills: a soffice every 0.3-0.9 s, twice a pool process with it.
    stop = threading.Event()
    kills: list[str] = []
    rng = random.Random(15)

    def storm() -> None:
        while not stop.wait(rng.uniform(0.3, 0.9)) and len(kills) < 12:
            workers = cluster.workers()
            if not workers:
                continue
            worker = rng.choice(workers)
            if len(kills) in (1, 5):
                victims = cluster.pool_children(worker) + cluster.soffice_of(worker)
                kind = "pool"
            else:
                victims, kind = cluster.soffice_of(worker), "soffice"
            if victims:
                kill_all(victims)
                kills.append(kind)

    killer = threading.Thread(target=storm, daemon=True)
    killer.start()
    try:
        for task_id in [target, *others]:
            receiver.wait_for(task_id, 300)
    finally:
        stop.set()
        killer.join(10)
    time.sleep(2)  # a second completion, if any, would come right after the first

    assert kills.count("pool") >= 1 and len(kills) >= 6, kills
    for task_id in [target, *others]:
        content = receiver.wait_for(task_id).content
        assert (content["Status"], content["Code"]) == ("Succeeded", ""), (
            content,
            cluster.logs(),
        )
        assert len(receiver.for_task(task_id)) == 1, f"{task_id} notified more than once"
    assert int(record.get(target)["attempts"]) >= 3, "both kills hit the target's runs"
    assert int(record.get(target).get("infra_faults", 0)) >= 2
    pages = sorted((cluster.storage / "faults-bkt" / "out" / "t").glob("*.png"))
    assert sorted(p.name for p in pages) == sorted(f"{i}.png" for i in range(1, 41))
    r = redis.Redis.from_url(cluster.redis_url, decode_responses=True)
    strikes = {
        key: r.hget(key, "strikes")
        for key in r.scan_iter(f"{KEY_PREFIX}:quarantine:*")
        if int(r.hget(key, "strikes") or 0)
    }
    assert strikes == {}, f"good documents were blamed: {strikes}"
