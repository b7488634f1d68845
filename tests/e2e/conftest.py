"""One real imm-engine for the end-to-end tests, driven with the official SDK."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from alibabacloud_imm20200930 import models as m
from alibabacloud_imm20200930.client import Client

from tests.support.e2e_service import BUCKET, FLAKY_TOPIC, REDIS_URL
from tests.support.needs import need, redis_available
from tests.support.paths import CORPUS
from tests.support.service import (
    TOPIC,
    WEBHOOK_SECRET,
    Delivery,
    Receiver,
    Service,
    notification,
    run_service,
)


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def hooks() -> Iterator[Receiver]:
    """A webhook receiver of the module's own (for a module's own service)."""
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture(scope="session")
def flaky() -> Iterator[Receiver]:
    """A second receiver, behind FLAKY_TOPIC, that tests tell to fail first."""
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture(scope="session")
def service(
    tmp_path_factory: pytest.TempPathFactory, receiver: Receiver, flaky: Receiver
) -> Iterator[Service]:
    need(redis_available(REDIS_URL), "Redis on 127.0.0.1:6379")
    need(shutil.which("soffice") is not None, "LibreOffice (run `make deps`)")
    prefix = f"immtest{uuid.uuid4().hex[:8]}"
    topics = {
        TOPIC: {
            "type": "webhook",
            "url": receiver.url,
            "secret": WEBHOOK_SECRET,
            "allow_private": True,
        },
        FLAKY_TOPIC: {"type": "webhook", "url": flaky.url, "allow_private": True, "timeout": 2},
    }
    svc = Service(
        tmp_path_factory.mktemp("imm"),
        {
            "IMM_REDIS_URL": REDIS_URL,
            "IMM_KEY_PREFIX": prefix,
            "IMM_NOTIFY_TOPICS": json.dumps(topics),
            "IMM_CONVERT_TIMEOUT": "120",
            "IMM_NOTIFY_MAX_BACKOFF": "1",
        },
    )
    if CORPUS.is_dir():
        target = svc.storage / BUCKET
        target.mkdir(parents=True)
        for f in CORPUS.iterdir():
            if f.is_file():
                shutil.copyfile(f, target / f.name)
    yield from run_service(svc, REDIS_URL, prefix)


@pytest.fixture(scope="session")
def client(service: Service) -> Client:
    return service.client()


@pytest.fixture(scope="session")
def store(service: Service) -> redis.Redis:
    """The service's Redis, for checks the API does not offer (task keys, delivery logs)."""
    return redis.Redis.from_url(REDIS_URL, decode_responses=True)


@pytest.fixture()
def convert(service: Service, client: Client, receiver: Receiver, corpus: Path) -> Any:
    """Submit a CreateOfficeConversionTask and wait for its notification."""

    def run(
        source: str, target_type: str, via: Receiver | None = None, **kwargs: Any
    ) -> tuple[str, Delivery]:
        uri = source if source.startswith("oss://") else f"oss://{BUCKET}/{source}"
        if "target_uri" not in kwargs and "target_uriprefix" not in kwargs:
            run_id = uuid.uuid4().hex[:8]
            kwargs["target_uri"] = f"oss://{BUCKET}/out/{run_id}/{{barename}}/{{index}}.{{autoext}}"
        request = m.CreateOfficeConversionTaskRequest(
            project_name="test-project",
            source_uri=uri,
            target_type=target_type,
            notification=kwargs.pop("notification", notification()),
            **kwargs,
        )
        response = client.create_office_conversion_task(request)
        task_id = response.body.task_id
        return task_id, (via or receiver).wait_for(task_id)

    return run
