"""IMM 2017-09-06 end to end, with the old SDKs as clients: aliyun-python-sdk-core +
aliyun-python-sdk-imm 1.23.0 (`aliyunsdkimm.request.v20170906`) and, for notifications,
aliyun-mns-sdk against the built-in MNS service on the same port.

The client code is the blog's pattern, changed only in its two endpoints.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from alibabacloud_imm20200930 import models as m
from alibabacloud_imm20200930.client import Client
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkimm.request.v20170906.ConvertOfficeFormatRequest import ConvertOfficeFormatRequest
from aliyunsdkimm.request.v20170906.CreateOfficeConversionTaskRequest import (
    CreateOfficeConversionTaskRequest,
)
from aliyunsdkimm.request.v20170906.DeleteOfficeConversionTaskRequest import (
    DeleteOfficeConversionTaskRequest,
)
from aliyunsdkimm.request.v20170906.DeleteProjectRequest import DeleteProjectRequest
from aliyunsdkimm.request.v20170906.GetOfficeConversionTaskRequest import (
    GetOfficeConversionTaskRequest,
)
from aliyunsdkimm.request.v20170906.GetProjectRequest import GetProjectRequest
from aliyunsdkimm.request.v20170906.ListOfficeConversionTaskRequest import (
    ListOfficeConversionTaskRequest,
)
from aliyunsdkimm.request.v20170906.ListProjectsRequest import ListProjectsRequest
from aliyunsdkimm.request.v20170906.PutProjectRequest import PutProjectRequest
from aliyunsdkimm.request.v20170906.UpdateProjectRequest import UpdateProjectRequest

from tests.support.e2e_service import BUCKET
from tests.support.paths import CORPUS
from tests.support.service import (
    ACCESS_KEY_ID,
    ACCESS_KEY_SECRET,
    TOPIC,
    Receiver,
    Service,
    extension_call,
)

REGION = "cn-beijing"
#: The example's own source name (a copy of a corpus document with several pages).
SOURCE_NAME = "5页Word.docx"
SOURCE_FILE = "page-breaks.docx"

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module", autouse=True)
def no_proxy() -> Iterator[None]:
    """The old core honours HTTP(S)_PROXY; requests to 127.0.0.1 must not go through one."""
    names = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")
    saved = {n: os.environ.pop(n) for n in names if n in os.environ}
    yield
    os.environ.update(saved)


def acs_client(service: Service, secret: str = ACCESS_KEY_SECRET) -> AcsClient:
    """The unchanged client, pointed at imm-engine with the one `add_endpoint` line."""
    client = AcsClient(ACCESS_KEY_ID, secret, REGION)
    client.add_endpoint(REGION, "imm", f"127.0.0.1:{service.port}")
    return client


def call(client: AcsClient, request: Any, method: str = "POST") -> dict[str, Any]:
    request.set_method(method)
    return dict(json.loads(client.do_action_with_exception(request)))


def refused(client: AcsClient, request: Any, method: str = "POST") -> ServerException:
    with pytest.raises(ServerException) as info:
        call(client, request, method)
    return info.value


@pytest.fixture(scope="module")
def old(service: Service) -> AcsClient:
    return acs_client(service)


@pytest.fixture(scope="module")
def project(old: AcsClient) -> str:
    name = f"legacy-{uuid.uuid4().hex[:8]}"
    req = PutProjectRequest()
    req.set_Project(name)
    req.set_Type("DocStarter")
    req.set_Type(1)  # the blog's typo for set_CU: the request carries Type=1 and no CU
    req.set_BillingType("ByUsage")
    call(old, req)
    return name


@pytest.fixture(scope="module")
def source(service: Service) -> str:
    data = (CORPUS / SOURCE_FILE).read_bytes()
    return service.put(BUCKET, f"zqh/input/WORD/{SOURCE_NAME}", data)


def conversion(
    project: str, src: str, tgt: str, tgt_type: str = "png", **extra: Any
) -> CreateOfficeConversionTaskRequest:
    req = CreateOfficeConversionTaskRequest()
    req.set_Project(project)
    req.set_SrcUri(src)
    req.set_TgtUri(tgt)
    req.set_TgtType(tgt_type)
    for name, value in extra.items():
        getattr(req, f"set_{name}")(value)
    return req


def get_task(client: AcsClient, project: str, task_id: str) -> dict[str, Any]:
    req = GetOfficeConversionTaskRequest()
    req.set_Project(project)
    req.set_TaskId(task_id)
    return call(client, req)


def wait_final(
    client: AcsClient, project: str, task_id: str, timeout: float = 180
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        task = get_task(client, project, task_id)
        if task["Status"] != "Running" or time.monotonic() > deadline:
            return task
        time.sleep(0.2)


def events_for(receiver: Receiver, task_id: str, timeout: float = 120) -> dict[str, Any]:
    """The 2017 event a webhook route received for `task_id`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with receiver.cond:
            for d in receiver.deliveries:
                try:
                    body = json.loads(d.body)
                    if body["events"][0]["imm"]["taskId"] == task_id:
                        return dict(body)
                except (ValueError, KeyError, TypeError, IndexError):
                    continue
            receiver.cond.wait(0.5)
    raise TimeoutError(f"no 2017 event for {task_id}")


def out_dir(name: str = "") -> str:
    return f"oss://{BUCKET}/zqh/output/{name or uuid.uuid4().hex[:8]}/"


# --- projects ---


def test_project_lifecycle(old: AcsClient, service: Service) -> None:
    name = f"p2017-{uuid.uuid4().hex[:8]}"
    put = PutProjectRequest()
    put.set_Project(name)
    put.set_Type(1)
    put.set_BillingType("ByUsage")
    created = call(old, put, "GET")  # core 2.11's request shape
    assert created["Project"] == name
    assert created["Type"] == "DocStarter" and created["CU"] == 1
    assert created["BillingType"] == "ByUsage" and created["ServiceRole"] == ""
    assert created["Endpoint"] == f"127.0.0.1:{service.port}"
    assert created["CreateTime"] == created["ModifyTime"]
    assert time.strptime(created["CreateTime"], "%Y-%m-%dT%H:%M:%SZ")

    again = refused(old, put)
    assert again.get_error_code() == "InvalidProject.AlreadyExist"

    get = GetProjectRequest()
    get.set_Project(name)
    assert call(old, get)["Project"] == name

    update = UpdateProjectRequest()
    update.set_Project(name)
    assert refused(old, update).get_error_code() == "InvalidParameter"
    update.set_NewCU(3)
    assert call(old, update)["CU"] == 3
    update.set_NewServiceRole("AliyunIMMDefaultRole")
    updated = call(old, update)
    assert updated["ServiceRole"] == "AliyunIMMDefaultRole" and updated["CU"] == 3
    assert updated["ModifyTime"] >= updated["CreateTime"]

    listing = ListProjectsRequest()
    listing.set_MaxKeys(100)
    listing.set_Marker(name)
    first = call(old, listing)["Projects"][0]
    assert first["Project"] == name and first["CU"] == 3

    delete = DeleteProjectRequest()
    delete.set_Project(name)
    assert set(call(old, delete)) == {"RequestId"}
    assert refused(old, get).get_error_code() == "InvalidProject.NotFound"
    assert set(call(old, delete)) == {"RequestId"}  # deleting again succeeds


def test_project_names_are_checked(old: AcsClient) -> None:
    for bad in ("9lives", "has_underscore", "ALL", "x" * 51):
        put = PutProjectRequest()
        put.set_Project(bad)
        assert refused(old, put).get_error_code() == "InvalidParameter.Project"


def test_list_projects_pages_with_markers(old: AcsClient) -> None:
    stem = f"pg{uuid.uuid4().hex[:6]}"
    names = [f"{stem}-{i}" for i in range(3)]
    for name in names:
        put = PutProjectRequest()
        put.set_Project(name)
        call(old, put)
    listing = ListProjectsRequest()
    listing.set_MaxKeys(2)
    listing.set_Marker(names[0])
    page = call(old, listing)
    assert [p["Project"] for p in page["Projects"]] == names[:2]
    assert page["NextMarker"] == names[2]
    listing.set_MaxKeys(101)
    assert refused(old, listing).get_error_code() == "InvalidMaxKeys"


def test_projects_are_one_namespace(old: AcsClient, client: Client) -> None:
    name = f"shared-{uuid.uuid4().hex[:8]}"
    client.create_project(m.CreateProjectRequest(project_name=name))
    get = GetProjectRequest()
    get.set_Project(name)
    assert call(old, get)["ServiceRole"] == "AliyunIMMDefaultRole"
    put = PutProjectRequest()
    put.set_Project(name)
    assert refused(old, put).get_error_code() == "InvalidProject.AlreadyExist"
    fetched = client.get_project(m.GetProjectRequest(project_name=name)).body.project
    assert fetched is not None and fetched.project_name == name


# --- conversion ---


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_blog_conversion_writes_named_pages(
    old: AcsClient, project: str, source: str, service: Service, method: str
) -> None:
    tgt = out_dir()
    req = conversion(
        project, source, tgt, "png", StartPage=1, EndPage=-1, PdfVector=True,
        Hidecomments=False, TgtFilePrefix="p-", TgtFileSuffix="def", TgtFilePages="[1,2]",
    )  # fmt: skip
    created = call(old, req, method)
    assert created["Status"] == "Running" and created["Percent"] == 0
    assert created["TgtLoc"] == tgt
    assert created["TaskId"].startswith("formatconvert-")
    assert created["CreateTime"].endswith("Z") and len(created["CreateTime"]) == 24

    task = wait_final(old, project, created["TaskId"])
    assert task["Status"] == "Finished", task
    assert task["Percent"] == 100 and task["PageCount"] == 2
    assert task["FailDetail"] == {"Code": "NoError"}
    assert task["SrcUri"] == source and task["TgtUri"] == tgt and task["TgtType"] == "png"
    assert task["FinishTime"].endswith("Z")
    written = sorted(p.name for p in service.object(tgt).iterdir())
    assert written == ["p-1.png", "p-2.png"]
    assert service.object(f"{tgt}p-1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("tgt_type", "extra", "names"),
    [
        ("pdf", {}, ["1.pdf"]),
        ("text", {}, ["1.txt"]),
        ("jpg", {"TgtFilePrefix": "aa", "EndPage": 1}, ["aa1"]),
        ("jpg", {"TgtFileSuffix": "bb", "EndPage": 1}, ["1bb"]),
        ("png", {"TgtFilePrefix": "报告-", "TgtFileSuffix": "def", "EndPage": 1}, ["报告-1.png"]),
    ],
)
def test_output_names(
    old: AcsClient,
    project: str,
    source: str,
    service: Service,
    tgt_type: str,
    extra: dict[str, Any],
    names: list[str],
) -> None:
    tgt = out_dir(f"名前/{uuid.uuid4().hex[:6]}")  # a non-ASCII TgtUri stays as written
    created = call(old, conversion(project, source, tgt, tgt_type, **extra))
    task = wait_final(old, project, created["TaskId"])
    assert task["Status"] == "Finished", task
    assert sorted(p.name for p in service.object(tgt).iterdir()) == names


def test_refusals_are_clear(old: AcsClient, project: str, source: str) -> None:
    vector = refused(old, conversion(project, source, out_dir(), "vector"))
    assert vector.get_error_code() == "InvalidParameter.TgtType.NotSupported"
    assert "vector" in vector.get_error_msg()
    prefix = refused(old, conversion(project, source, out_dir(), "png", TgtFilePrefix="a/b"))
    assert prefix.get_error_code() == "InvalidParameter.TgtFilePrefix"
    missing = refused(old, conversion("no-such-project", source, out_dir(), "png"))
    assert missing.get_error_code() == "InvalidProject.NotFound"
    bad_src = refused(old, conversion(project, "http://x/y.docx", out_dir(), "png"))
    assert bad_src.get_error_code() == "InvalidParameter.SrcUri"
    assert "SrcUri" in bad_src.get_error_msg()


def test_failed_task_and_its_event(old: AcsClient, project: str, receiver: Receiver) -> None:
    """A source that does not exist: Failed, FailedToDownloadSrcFile, and an event carrying
    the code and the message (delivered here through the configured route of the topic)."""
    req = conversion(
        project, f"oss://{BUCKET}/nothing/here.docx", out_dir(), "png",
        NotifyEndpoint="http://1234567890.mns.cn-beijing.aliyuncs.com/", NotifyTopicName=TOPIC,
    )  # fmt: skip
    created = call(old, req)
    task = wait_final(old, project, created["TaskId"])
    assert task["Status"] == "Failed" and task["Percent"] == 0
    assert task["FailDetail"] == {"Code": "FailedToDownloadSrcFile"}
    assert task["NotifyTopicName"] == TOPIC
    event = events_for(receiver, created["TaskId"])["events"][0]
    assert event["eventName"] == "FormatConvertJob:JobFinished"
    assert event["eventSource"] == "acs:imm" and event["eventVersion"] == "1.0"
    imm = event["imm"]
    assert imm["code"] == "FailedToDownloadSrcFile" and imm["percent"] == "0"
    assert "does not exist" in imm["message"]


def test_finished_event_through_a_route(
    old: AcsClient, project: str, source: str, receiver: Receiver
) -> None:
    req = conversion(
        project, source, out_dir(), "png", EndPage=2,
        NotifyEndpoint="http://1234567890.mns.cn-beijing.aliyuncs.com/", NotifyTopicName=TOPIC,
    )  # fmt: skip
    created = call(old, req)
    body = events_for(receiver, created["TaskId"])
    imm = body["events"][0]["imm"]
    assert imm == {
        "code": "NoError",
        "pageCount": "2",
        "percent": "100",
        "taskId": created["TaskId"],
    }
    assert body["events"][0]["eventTime"].endswith("Z")


def test_notify_endpoints_that_cannot_deliver_are_refused(
    old: AcsClient, project: str, source: str, service: Service
) -> None:
    foreign = conversion(
        project, source, out_dir(), "png",
        NotifyEndpoint="http://1234567890.mns.cn-beijing.aliyuncs.com/", NotifyTopicName="nowhere",
    )  # fmt: skip
    err = refused(old, foreign)
    assert err.get_error_code() == "InvalidParameter.NotifyEndpoint"
    assert "IMM_NOTIFY_TOPICS" in err.get_error_msg()
    own = conversion(
        project, source, out_dir(), "png",
        NotifyEndpoint=f"http://127.0.0.1:{service.port}/", NotifyTopicName="no-such-topic",
    )  # fmt: skip
    err = refused(old, own)
    assert err.get_error_code() == "InvalidParameter.NotifyTopicName"
    assert "does not exist" in err.get_error_msg()


def test_get_list_delete(old: AcsClient, project: str, source: str) -> None:
    ids = [call(old, conversion(project, source, out_dir(), "pdf"))["TaskId"] for _ in range(3)]
    for task_id in ids:
        wait_final(old, project, task_id)
    listing = ListOfficeConversionTaskRequest()
    listing.set_Project(project)
    listing.set_MaxKeys(2)
    seen: list[str] = []
    while True:
        page = call(old, listing)
        assert all("FailDetail" not in t for t in page["Tasks"])
        seen += [t["TaskId"] for t in page["Tasks"]]
        if "NextMarker" not in page:
            break
        listing.set_Marker(page["NextMarker"])
    assert set(ids) <= set(seen) and seen == sorted(seen)

    delete = DeleteOfficeConversionTaskRequest()
    delete.set_Project(project)
    delete.set_TaskId(ids[0])
    assert set(call(old, delete)) == {"RequestId"}
    with pytest.raises(ServerException) as info:
        get_task(old, project, ids[0])
    assert info.value.get_error_code() == "InvalidParameter.TaskId"
    delete.set_TaskId("formatconvert-does-not-exist")
    assert set(call(old, delete)) == {"RequestId"}


def test_idempotent_token_gives_the_same_task(old: AcsClient, project: str, source: str) -> None:
    token = str(uuid.uuid4())
    tgt = out_dir()
    first = call(old, conversion(project, source, tgt, "pdf", IdempotentToken=token))
    second = call(old, conversion(project, source, tgt, "pdf", IdempotentToken=token))
    assert first["TaskId"] == second["TaskId"]
    other = call(old, conversion(project, source, out_dir(), "pdf", IdempotentToken=token))
    assert other["TaskId"] != first["TaskId"]


def test_convert_office_format_is_synchronous(
    old: AcsClient, project: str, source: str, service: Service
) -> None:
    tgt = out_dir()
    req = ConvertOfficeFormatRequest()
    req.set_Project(project)
    req.set_SrcUri(source)
    req.set_TgtUri(tgt)
    req.set_TgtType("png")
    req.set_EndPage(1)
    answer = call(old, req)
    assert answer["PageCount"] == 1
    assert [p.name for p in service.object(tgt).iterdir()] == ["1.png"]
    req.set_SrcUri(f"oss://{BUCKET}/nothing/there.docx")
    err = refused(old, req)
    assert err.get_error_code() == "FailedToDownloadSrcFile"


def test_wrong_signatures(service: Service, project: str) -> None:
    """A wrong secret: the server answers SignatureDoesNotMatch with its string to sign, and
    core 2.16 (which compares it with its own) reports InvalidAccessKeySecret."""
    wrong = acs_client(service, secret="not-the-secret")
    get = GetProjectRequest()
    get.set_Project(project)
    for method in ("POST", "GET"):
        err = refused(wrong, get, method)
        assert err.get_error_code() == "InvalidAccessKeySecret"
        assert err.get_http_status() == 400


def test_tampered_request_gets_the_string_to_sign(service: Service, project: str) -> None:
    """A request changed after signing: SignatureDoesNotMatch, with the server's StringToSign
    after the colon (the old core compares it with its own)."""
    import httpx
    from aliyunsdkcore.auth.composer.rpc_signature_composer import get_signed_url

    params = {
        "Project": project, "Version": "2017-09-06", "Action": "GetProject", "RegionId": REGION,
    }  # fmt: skip
    url, signed = get_signed_url(params, ACCESS_KEY_ID, ACCESS_KEY_SECRET, "JSON", "POST", {})
    tampered = url.replace(f"Project={project}", "Project=someone-else")
    answer = httpx.post(f"http://127.0.0.1:{service.port}{tampered}", trust_env=False)
    assert answer.status_code == 400
    body = answer.json()
    assert body["Code"] == "SignatureDoesNotMatch"
    server = body["Message"].split(":")[1]
    assert server != signed and server == signed.replace(project, "someone-else")


def test_bodies_and_proxies_reach_the_same_handler(service: Service, project: str) -> None:
    """A form body is read like the query; an absolute-form target (what the old core sends
    through HTTP_PROXY) is routed by its path."""
    import http.client

    from aliyunsdkcore.auth.composer.rpc_signature_composer import get_signed_url

    params = {
        "Project": project, "Version": "2017-09-06", "Action": "GetProject", "RegionId": REGION,
    }  # fmt: skip
    url, _ = get_signed_url(params, ACCESS_KEY_ID, ACCESS_KEY_SECRET, "JSON", "GET", {})
    conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
    conn.request("GET", f"http://imm.{REGION}.aliyuncs.com{url}")
    answer = conn.getresponse()
    assert answer.status == 200, answer.read()
    assert json.loads(answer.read())["Project"] == project


def test_2017_task_is_a_task_like_any_other(
    old: AcsClient, client: Client, project: str, source: str
) -> None:
    created = call(old, conversion(project, source, out_dir(), "pdf"))
    wait_final(old, project, created["TaskId"])
    got = client.get_task(
        m.GetTaskRequest(
            project_name=project, task_type="OfficeConversion", task_id=created["TaskId"]
        )
    ).body
    assert got.status == "Succeeded" and got.task_type == "OfficeConversion"


# --- notifications into the built-in MNS, read with aliyun-mns-sdk ---


@pytest.fixture()
def mns_queue(service: Service) -> Iterator[tuple[Any, str]]:
    """The blog's consumer side: a queue subscribed (JSON) to a topic, on the same endpoint."""
    from mns.account import Account
    from mns.mns_common import TopicHelper
    from mns.queue import QueueMeta
    from mns.subscription import SubscriptionMeta
    from mns.topic import TopicMeta

    account = Account(f"http://127.0.0.1:{service.port}/", ACCESS_KEY_ID, ACCESS_KEY_SECRET)
    run = uuid.uuid4().hex[:8]
    queue = account.get_queue(f"imm-queue-{run}")
    queue.create(QueueMeta())
    topic = account.get_topic(f"imm-topic-{run}")
    topic.create(TopicMeta())
    endpoint = TopicHelper.generate_queue_endpoint(REGION, "1234567890123456", queue.queue_name)
    topic.get_subscription("imm-sub").subscribe(
        SubscriptionMeta(endpoint, notify_content_format="JSON")
    )
    queue.set_encoding(False)  # topic deliveries are plain text, as the blog's consumer knows
    yield queue, topic.topic_name
    topic.get_subscription("imm-sub").unsubscribe()
    topic.delete()
    queue.delete()


def received_events(message: Any) -> dict[str, Any]:
    wrapper = json.loads(message.message_body)
    assert isinstance(wrapper["Message"], str) and isinstance(wrapper["PublishTime"], str)
    return dict(json.loads(wrapper["Message"]))


def test_blog_pattern_end_to_end(
    old: AcsClient, project: str, source: str, service: Service, mns_queue: tuple[Any, str]
) -> None:
    """PutProject, CreateOfficeConversionTask with NotifyEndpoint/NotifyTopicName,
    receive_message, the outputs at TgtUri, GetOfficeConversionTask Finished,
    batch_receive_message, delete: unchanged but for the two endpoints."""
    queue, topic = mns_queue
    mns_endpoint = f"http://127.0.0.1:{service.port}/"
    tgt = out_dir()
    created = call(
        old,
        conversion(
            project, source, tgt, "png", StartPage=1, EndPage=-1,
            NotifyEndpoint=mns_endpoint, NotifyTopicName=topic,
        ),
    )  # fmt: skip
    message = queue.receive_message(wait_seconds=30)
    body = received_events(message)
    event = body["events"][0]
    assert event["eventName"] == "FormatConvertJob:JobFinished"
    assert event["imm"]["code"] == "NoError" and event["imm"]["percent"] == "100"
    assert event["imm"]["taskId"] == created["TaskId"]
    pages = int(event["imm"]["pageCount"])
    assert pages >= 2
    assert sorted(p.name for p in service.object(tgt).iterdir()) == [
        f"{n}.png" for n in sorted(range(1, pages + 1), key=str)
    ]
    task = get_task(old, project, created["TaskId"])
    assert task["Status"] == "Finished" and task["PageCount"] == pages
    queue.delete_message(message.receipt_handle)

    # a second and third task: their events together in one batch
    ids = {
        call(
            old,
            conversion(
                project, source, out_dir(), "pdf",
                NotifyEndpoint=mns_endpoint, NotifyTopicName=topic,
            ),
        )["TaskId"]
        for _ in range(2)
    }  # fmt: skip
    for task_id in ids:
        wait_final(old, project, task_id)
    got: list[Any] = []
    deadline = time.monotonic() + 60
    while len(got) < 2 and time.monotonic() < deadline:
        got += queue.batch_receive_message(16, wait_seconds=5)
    assert {received_events(m)["events"][0]["imm"]["taskId"] for m in got} == ids
    queue.batch_delete_message([m.receipt_handle for m in got])


def test_failure_event_reaches_the_queue(
    old: AcsClient, project: str, service: Service, mns_queue: tuple[Any, str]
) -> None:
    queue, topic = mns_queue
    created = call(
        old,
        conversion(
            project, f"oss://{BUCKET}/none/{SOURCE_NAME}", out_dir(), "png",
            NotifyEndpoint=f"http://127.0.0.1:{service.port}", NotifyTopicName=topic,
        ),
    )  # fmt: skip
    message = queue.receive_message(wait_seconds=30)
    imm = received_events(message)["events"][0]["imm"]
    assert imm["taskId"] == created["TaskId"]
    assert imm["code"] == "FailedToDownloadSrcFile" and imm["pageCount"] == "0"
    assert SOURCE_NAME in imm["message"]
    assert SOURCE_NAME in message.message_body  # as written in the raw body, not \u-escaped
    queue.delete_message(message.receipt_handle)


def test_2020_task_to_a_builtin_topic(
    client: Client, source: str, mns_queue: tuple[Any, str]
) -> None:
    """Notification.MNS.TopicName names a built-in topic no route claims: the 2020 event."""
    queue, topic = mns_queue
    created = client.create_office_conversion_task(
        m.CreateOfficeConversionTaskRequest(
            project_name="test-project",
            source_uri=source,
            target_type="pdf",
            target_uri=f"oss://{BUCKET}/zqh/2020/{{barename}}/{{barename}}.pdf",
            notification=m.Notification(mns=m.MNS(topic_name=topic)),
        )
    ).body
    message = queue.receive_message(wait_seconds=30)
    envelope = received_events(message)
    content = json.loads(envelope["content"])
    assert content["TaskId"] == created.task_id and content["Status"] == "Succeeded"
    assert content["Targets"][0]["URI"] == f"oss://{BUCKET}/zqh/2020/5页Word/5页Word.pdf"
    assert "5页Word/5页Word.pdf" in message.message_body
    queue.delete_message(message.receipt_handle)


# --- comments, passwords, sheets ---


@pytest.fixture(scope="module")
def fixture_sources(service: Service) -> dict[str, str]:
    from tests.support.paths import FIXTURES

    out = {
        name: service.put(BUCKET, f"legacy-fixtures/{name}", (FIXTURES / name).read_bytes())
        for name in ("comments.docx", "sheets.xlsx")
    }
    out["password.pdf"] = service.put(
        BUCKET, "legacy-fixtures/password.pdf", (CORPUS / "password.pdf").read_bytes()
    )
    return out


def pdf_text(service: Service, uri: str) -> str:
    import pymupdf

    with pymupdf.open(service.object(uri)) as doc:
        return "".join(page.get_text() for page in doc)


def test_comments_are_shown_unless_hidden(
    old: AcsClient, project: str, service: Service, fixture_sources: dict[str, str]
) -> None:
    """2017 shows Word comments by default (2020 hides them); Hidecomments=True hides them."""
    texts = {}
    for hide in (False, True):
        tgt = out_dir()
        created = call(
            old,
            conversion(project, fixture_sources["comments.docx"], tgt, "pdf", Hidecomments=hide),
        )
        assert wait_final(old, project, created["TaskId"])["Status"] == "Finished"
        texts[hide] = pdf_text(service, f"{tgt}1.pdf")
    assert "WORD-COMMENT-TEXT" in texts[False]
    assert "WORD-COMMENT-TEXT" not in texts[True]
    assert "Body text of the commented document." in texts[True]


def test_passwords(old: AcsClient, project: str, fixture_sources: dict[str, str]) -> None:
    src = fixture_sources["password.pdf"]
    locked = call(old, conversion(project, src, out_dir(), "png", EndPage=1))
    task = wait_final(old, project, locked["TaskId"])
    assert task["Status"] == "Failed" and task["FailDetail"] == {"Code": "OpenFileError"}
    opened = call(old, conversion(project, src, out_dir(), "png", EndPage=1, Password="password"))
    assert wait_final(old, project, opened["TaskId"])["Status"] == "Finished"


def test_spreadsheet_pages_are_numbered_by_page(
    old: AcsClient, project: str, service: Service, fixture_sources: dict[str, str]
) -> None:
    """Spreadsheet outputs are 1.png, 2.png, ... (2020 names them 1_1.png by sheet);
    MaxSheetCount limits the sheets, MaxSheetRow/MaxSheetCol the cells."""
    counts = {}
    for sheets in (1, -1):
        tgt = out_dir()
        created = call(
            old,
            conversion(project, fixture_sources["sheets.xlsx"], tgt, "png",
                       MaxSheetCount=sheets, MaxSheetRow=-1, MaxSheetCol=-1),
        )  # fmt: skip
        task = wait_final(old, project, created["TaskId"])
        assert task["Status"] == "Finished", task
        written = sorted(p.name for p in service.object(tgt).iterdir())
        assert written == sorted(f"{n}.png" for n in range(1, len(written) + 1))
        counts[sheets] = len(written)
    assert counts[-1] >= counts[1] + 2  # Beta and Gamma add a page each
    tgt = out_dir()
    limited = call(
        old,
        conversion(project, fixture_sources["sheets.xlsx"], tgt, "png",
                   MaxSheetCount=1, MaxSheetRow=10, MaxSheetCol=3),
    )  # fmt: skip
    assert wait_final(old, project, limited["TaskId"])["Status"] == "Finished"
    assert len(list(service.object(tgt).iterdir())) < counts[1]


def test_builtin_delivery_is_logged_and_replayed_byte_for_byte(
    old: AcsClient, client: Client, project: str, source: str, service: Service,
    mns_queue: tuple[Any, str],
) -> None:  # fmt: skip
    """The built-in topic is a destination like the others: ListTaskDeliveries shows it,
    ReplayTaskNotification sends the same 2017 event again."""
    queue, topic = mns_queue
    created = call(
        old,
        conversion(
            project, source, out_dir(), "pdf",
            NotifyEndpoint=f"http://127.0.0.1:{service.port}/", NotifyTopicName=topic,
        ),
    )  # fmt: skip
    first = queue.receive_message(wait_seconds=30)
    queue.delete_message(first.receipt_handle)
    ids = {"ProjectName": project, "TaskType": "OfficeConversion", "TaskId": created["TaskId"]}
    deadline = time.monotonic() + 30
    while True:  # the consumer can hold the message before the attempt is logged
        log = extension_call(client, "ListTaskDeliveries", **ids)
        if log["DeliveryState"] == "Delivered" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [d["Destination"] for d in log["Destinations"]] == [f"builtin-mns:{topic}"]
    assert log["DeliveryState"] == "Delivered"
    replayed = extension_call(client, "ReplayTaskNotification", **ids)
    assert replayed["Destinations"] == [f"builtin-mns:{topic}"]
    again = queue.receive_message(wait_seconds=30)
    assert json.loads(again.message_body)["Message"] == json.loads(first.message_body)["Message"]
    queue.delete_message(again.receipt_handle)
