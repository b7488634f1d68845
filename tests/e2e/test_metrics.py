"""Prometheus metrics of a real service: a real conversion through the official SDK shows in
the worker group's endpoint (conversion histogram, finished tasks, soffice starts) and in the
API's /metrics (tasks by status, read from Redis, and API requests); both endpoints refuse a
scrape without the bearer token; a webhook that refuses connections counts failed attempts
and a given-up event; a SIGKILLed soffice counts one restart."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from alibabacloud_imm20200930 import models as m
from alibabacloud_imm20200930.client import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.support.paths import FIXTURES
from tests.support.service import (
    TOPIC,
    Receiver,
    Service,
    free_port,
    notification,
    own_service,
)
from tests.support.soffice_procs import gone, wait_soffice

pytestmark = [pytest.mark.e2e, pytest.mark.soffice]

REDIS_URL = "redis://127.0.0.1:6379/9"
TOKEN = "scrape-token"
DEAD_TOPIC = "refusing-topic"
BUCKET = "metrics"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory, hooks: Receiver) -> Iterator[Service]:
    refused = f"http://127.0.0.1:{free_port()}/nobody-listens"
    yield from own_service(
        tmp_path_factory.mktemp("metrics"),
        hooks.url,
        {
            "IMM_NOTIFY_MAX_ATTEMPTS": "2",
            "IMM_NOTIFY_MAX_BACKOFF": "0.2",
            "IMM_WORKER_CONCURRENCY": "1",
            "IMM_WORKER_METRICS_PORT": str(free_port()),
            "IMM_METRICS_TOKEN": TOKEN,
        },
        topics={
            DEAD_TOPIC: {"type": "webhook", "url": refused, "allow_private": True, "timeout": 1}
        },
    )


@pytest.fixture(scope="module")
def sdk(svc: Service) -> Client:
    return svc.client()


def api_url(svc: Service) -> str:
    return f"http://127.0.0.1:{svc.port}/metrics"


def worker_url(svc: Service) -> str:
    return f"http://127.0.0.1:{svc.env['IMM_WORKER_METRICS_PORT']}/metrics"


def scrape(url: str) -> Samples:
    response = httpx.get(url, headers={"authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    out: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples named `name` whose labels include `labels` (0 if none)."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


def wait_until(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def convert(svc: Service, sdk: Client, hooks: Receiver, topic: str = TOPIC) -> str:
    uri = svc.put(
        BUCKET, f"in/{uuid.uuid4().hex[:8]}.docx", (FIXTURES / "comments.docx").read_bytes()
    )
    request = m.CreateOfficeConversionTaskRequest(
        project_name="test-project",
        source_uri=uri,
        target_type="pdf",
        target_uri=f"oss://{BUCKET}/out/{uuid.uuid4().hex[:8]}.pdf",
        notification=notification(topic),
    )
    task_id = str(sdk.create_office_conversion_task(request).body.task_id)
    if topic == TOPIC:
        assert hooks.wait_for(task_id, timeout=120).content["Status"] == "Succeeded"
    return task_id


@pytest.mark.parametrize("which", ["api", "worker"])
def test_scrapes_need_the_bearer_token(svc: Service, which: str) -> None:
    url = api_url(svc) if which == "api" else worker_url(svc)
    assert httpx.get(url, timeout=10).status_code == 401
    wrong = httpx.get(url, headers={"authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401
    ok = httpx.get(url, headers={"authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("text/plain; version=")


def test_a_conversion_shows_in_both_endpoints(svc: Service, sdk: Client, hooks: Receiver) -> None:
    before = scrape(api_url(svc))
    done_before = value(before, "imm_tasks", task_type="OfficeConversion", status="Succeeded")
    convert(svc, sdk, hooks)

    api = scrape(api_url(svc))
    assert value(api, "imm_tasks", task_type="OfficeConversion", status="Succeeded") == (
        done_before + 1
    )
    assert value(api, "imm_tasks", task_type="OfficeConversion", status="Running") == 0
    assert value(api, "imm_tasks_waiting", task_type="OfficeConversion") == 0
    assert value(api, "imm_broker_queue_length", queue="office") == 0
    assert value(api, "imm_state_scrape_ok") == 1
    created = value(api, "imm_api_requests_total", action="CreateOfficeConversionTask", code="200")
    assert created >= 1

    worker = scrape(worker_url(svc))
    labels = {"task_type": "OfficeConversion", "source": "word", "target": "pdf"}
    assert value(worker, "imm_conversion_seconds_count", status="Succeeded", **labels) >= 1
    assert value(worker, "imm_conversion_seconds_sum", status="Succeeded", **labels) > 0
    assert value(worker, "imm_pages_converted_total", **labels) >= 1
    finished = value(
        worker, "imm_tasks_finished_total", task_type="OfficeConversion", status="Succeeded"
    )
    assert finished >= 1
    assert value(worker, "imm_soffice_restarts_total", reason="startup") >= 1
    assert value(worker, "imm_soffice_export_seconds_count", outcome="ok") >= 1
    wait_until(
        lambda: value(scrape(worker_url(svc)), "imm_notify_delivered_total", type="webhook") >= 1
    )


def test_a_refusing_webhook_counts_failures_and_a_given_up_event(
    svc: Service, sdk: Client, hooks: Receiver
) -> None:
    before = scrape(worker_url(svc))
    failures = value(before, "imm_notify_failures_total", type="webhook")
    given_up = value(before, "imm_notify_given_up_total", type="webhook")
    dead_before = value(scrape(api_url(svc)), "imm_notify_queue", state="dead")
    convert(svc, sdk, hooks, topic=DEAD_TOPIC)

    wait_until(
        lambda: (
            value(scrape(worker_url(svc)), "imm_notify_given_up_total", type="webhook")
            == given_up + 1
        )
    )
    after = scrape(worker_url(svc))
    assert value(after, "imm_notify_failures_total", type="webhook") == failures + 2
    assert value(after, "imm_notify_attempt_seconds_count", type="webhook", result="failed") >= 2
    assert value(scrape(api_url(svc)), "imm_notify_queue", state="dead") == dead_before + 1


def test_a_killed_soffice_counts_one_restart(svc: Service, sdk: Client, hooks: Receiver) -> None:
    convert(svc, sdk, hooks)  # soffice is up and idle
    before = value(scrape(worker_url(svc)), "imm_soffice_restarts_total", reason="died")
    marker = str(svc.data_dir / "soffice")
    pid = wait_soffice(marker)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: gone(pid), timeout=10)

    convert(svc, sdk, hooks)  # finds it dead, starts a new one, converts
    after = scrape(worker_url(svc))
    assert value(after, "imm_soffice_restarts_total", reason="died") == before + 1
    assert wait_soffice(marker, other_than=pid) != pid
