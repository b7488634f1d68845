"""IMM 2017-09-06 translation (imm_engine/tasktypes/office_2017.py), notification routing
(notify_2017.py), the 2017 event (notify/legacy_events.py), built-in MNS routes and upload
names (pure parts)."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest

from imm_engine.api.params import Params
from imm_engine.client.inputs import safe_name
from imm_engine.errors import ApiError, invalid
from imm_engine.models import TaskRecord
from imm_engine.notify import legacy_events
from imm_engine.notify.routes import BUILTIN_KEY, parse_routes
from imm_engine.targets import templates
from imm_engine.tasktypes import notify_2017, office_2017
from imm_engine.tasktypes.base import SubmitContext, parse_notification
from imm_engine.tasktypes.office_conversion import TASK_TYPE as SPEC

SRC = "oss://bkt/in/5页Word.docx"
TGT = "oss://bkt/out/"


def translated(**extra: str) -> dict[str, str]:
    base = {"Project": "demo", "SrcUri": SRC, "TgtUri": TGT, "TgtType": "png"}
    return office_2017.translate(Params({**base, **extra}.items())).params.values


# --- output names: TgtUri + TgtFilePrefix + [x] + TgtFileSuffix (spec A.5) ---

NAMES = [
    # (TgtType, extra parameters, index, autoext, expected object)
    ("jpg", {}, "1", "jpg", "oss://bkt/out/1.jpg"),
    ("jpg", {"TgtFileSuffix": "aa"}, "1", "jpg", "oss://bkt/out/1aa"),
    ("jpg", {"TgtFilePrefix": "aa"}, "2", "jpg", "oss://bkt/out/aa2"),
    ("jpg", {"TgtFilePrefix": "aa", "TgtFileSuffix": "bb"}, "3", "jpg", "oss://bkt/out/aa3bb"),
    ("jpg", {"TgtFilePrefix": "aa", "TgtFileSuffix": "def"}, "1", "jpg", "oss://bkt/out/aa1.jpg"),
    ("png", {"TgtFilePrefix": "p-", "TgtFileSuffix": "def"}, "1", "png", "oss://bkt/out/p-1.png"),
    ("pdf", {}, "1", "pdf", "oss://bkt/out/1.pdf"),
    ("pdf", {"TgtFilePrefix": "doc_"}, "1", "pdf", "oss://bkt/out/doc_1"),
    ("text", {"TgtFilePrefix": "ignored"}, "1", "txt", "oss://bkt/out/1.txt"),
    ("png", {"TgtFileSuffix": ".jpeg"}, "1", "png", "oss://bkt/out/1.jpeg"),
    ("png", {"TgtFilePrefix": "报告-", "TgtFileSuffix": "def"}, "1", "png", "oss://bkt/out/报告-1.png"),
    ("png", {"TgtFilePrefix": "データ_"}, "4", "png", "oss://bkt/out/データ_4"),
    ("png", {"TgtFilePrefix": "보고서"}, "1", "png", "oss://bkt/out/보고서1"),
    ("png", {"TgtUri": "oss://bkt/输出/{年}/"}, "1", "png", "oss://bkt/输出/{年}/1.png"),
    ("png", {"TgtUri": "oss://bkt/no-slash"}, "1", "png", "oss://bkt/no-slash1.png"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "extra", "index", "autoext", "expected"), NAMES)
def test_output_names(
    kind: str, extra: dict[str, str], index: str, autoext: str, expected: str
) -> None:
    template = templates.parse(translated(TgtType=kind, **extra)["TargetURI"])
    uri = templates.render_uri(template, {"index": index, "autoext": autoext}, {}, "TargetURI")
    assert str(uri) == expected


# --- parameters and their 2017 defaults ---

PARAMS = [
    # (2017 parameters, 2020 parameters expected among the translation, absent ones)
    ({}, {"StartPage": "1", "EndPage": "200", "MaxSheetRow": "1000", "MaxSheetColumn": "100",
          "ShowComments": "true", "TargetType": "png", "ProjectName": "demo", "SourceURI": SRC},
     ["SheetCount", "Pages", "LongText"]),
    ({"StartPage": "250"}, {"StartPage": "250", "EndPage": "449"}, []),
    ({"EndPage": "-1"}, {"EndPage": "-1"}, []),
    ({"TgtFilePages": "[1,2]", "EndPage": "-1"}, {"Pages": "1,2"}, ["StartPage", "EndPage"]),
    ({"TgtFilePages": "[5,1,300]"}, {"Pages": "1,5"}, []),
    ({"MaxSheetRow": "-1", "MaxSheetCol": "-1", "MaxSheetCount": "3"}, {"SheetCount": "3"},
     ["MaxSheetRow", "MaxSheetColumn"]),
    ({"SheetOnePage": "True"}, {"FitToWidth": "true", "FitToHeight": "true"}, []),
    ({"FitToPagesWide": "True", "FitToPagesTall": "false"}, {"FitToPagesWide": "true"},
     ["FitToPagesTall"]),
    ({"Hidecomments": "True"}, {}, ["ShowComments"]),
    ({"TgtType": "TEXT"}, {"TargetType": "txt", "LongText": "true"}, []),
    ({"TgtType": "jpeg", "DisplayDpi": "300"}, {"TargetType": "jpg", "ImageDPI": "300"}, []),
    ({"Password": "s3cret", "SrcType": "docx", "UserData": "u"},
     {"Password": "s3cret", "SourceType": "docx", "UserData": "u"}, []),
    ({"PdfVector": "True", "ModelId": "x", "ExternalID": "e", "ImageSpec": "i", "Unknown": "1"},
     {}, ["PdfVector", "ModelId", "ExternalID", "ImageSpec", "Unknown"]),
]  # fmt: skip


@pytest.mark.parametrize(("given", "expected", "absent"), PARAMS)
def test_parameters(given: dict[str, str], expected: dict[str, str], absent: list[str]) -> None:
    values = translated(**given)
    assert {k: values.get(k) for k in expected} == expected
    assert not set(absent) & set(values)


def test_translation_validates_as_the_2020_task() -> None:
    """The translated parameters are a valid 2020 CreateOfficeConversionTask."""
    sub = SPEC.submission(
        office_2017.translate(Params({"Project": "demo", "SrcUri": SRC, "TgtUri": TGT,
                                      "TgtType": "png", "TgtFilePages": "[2]"}.items())).params,
        SubmitContext(parse_routes({})),
    )  # fmt: skip
    job = sub.job.to_record()
    assert job["target_type"] == "png" and job["pages"] == [[2, 2]]
    assert job["target_template"] == "oss://bkt/out/{index}.{autoext}"
    assert job["show_comments"] is True


def test_echo() -> None:
    tr = office_2017.translate(
        Params(
            {"Project": "p", "SrcUri": SRC, "TgtUri": TGT, "TgtType": "PNG", "ExternalID": "x",
             "NotifyTopicName": "t"}.items()
        )
    )  # fmt: skip
    assert tr.echo == {
        "SrcUri": SRC, "TgtUri": TGT, "TgtType": "png", "NotifyTopicName": "t",
        "NotifyEndpoint": "", "ExternalID": "x", "ImageSpec": "",
    }  # fmt: skip


REFUSED = [
    ({"TgtType": "vector"}, "InvalidParameter.TgtType.NotSupported"),
    ({"TgtType": "Vector"}, "InvalidParameter.TgtType.NotSupported"),
    ({"TgtType": ""}, "MissingTgtType"),
    ({"TgtType": "bmp"}, "InvalidArgument"),
    ({"TgtFilePrefix": "a/b"}, "InvalidArgument"),
    ({"TgtFilePrefix": "a.b"}, "InvalidArgument"),
    ({"TgtFileSuffix": "x" * 257}, "InvalidArgument"),
    ({"StartPage": "0"}, "InvalidArgument"),
    ({"StartPage": "5", "EndPage": "2"}, "InvalidArgument"),
    ({"TgtFilePages": "[300]"}, "InvalidArgument"),
    ({"TgtFilePages": "one"}, "InvalidArgument"),
    ({"TgtFilePages": json.dumps(list(range(1, 102)))}, "InvalidArgument"),
    ({"MaxSheetRow": "0"}, "InvalidArgument"),
    ({"SrcUri": ""}, "MissingSrcUri"),
]


@pytest.mark.parametrize(("given", "code"), REFUSED)
def test_refused(given: dict[str, str], code: str) -> None:
    with pytest.raises(ApiError) as info:
        translated(**given)
    assert info.value.code == code


@pytest.mark.parametrize(
    ("err", "code", "fragment"),
    [
        (invalid("SourceURI", "'x' must have the form oss://bucket/object"),
         "InvalidParameter.SrcUri", "SrcUri is not valid"),
        (invalid("ImageDPI", "1000 is outside the range 96 to 600"),
         "InvalidParameter.DisplayDpi", "96 to 600"),
        (invalid("TargetURI", "TargetURI needs {index}"), "InvalidParameter.TgtUri",
         "TgtUri needs"),
        (ApiError("MissingSourceURI", "x"), "MissingSrcUri", "SrcUri is mandatory"),
        (ApiError("AccessDenied", "no", 403), "AccessDenied", "no"),
    ],
)  # fmt: skip
def test_errors_in_2017_names(err: ApiError, code: str, fragment: str) -> None:
    out = office_2017.as_2017(err)
    assert out.code == code and fragment in out.message


def test_idempotency_material_ignores_signature_parameters() -> None:
    a = Params([("IdempotentToken", "t"), ("SrcUri", SRC), ("Timestamp", "1"), ("Signature", "x")])
    b = Params([("SrcUri", SRC), ("IdempotentToken", "t"), ("Timestamp", "2"), ("Signature", "y")])
    c = Params([("SrcUri", SRC + "x"), ("IdempotentToken", "t")])
    assert office_2017.idempotency_material(a) == office_2017.idempotency_material(b)
    assert office_2017.idempotency_material(a) != office_2017.idempotency_material(c)
    assert office_2017.idempotency_material(Params([("SrcUri", SRC)])) is None


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        ("Succeeded", "", "NoError"),
        ("Running", "", "NoError"),
        ("Failed", "ResourceNotFound", "FailedToDownloadSrcFile"),
        ("Failed", "InvalidFile", "OpenFileError"),
        ("Failed", "InvalidPassword", "OpenFileError"),
        ("Failed", "TargetWriteFailed", "WriteTgtUriFailed"),
        ("Failed", "ConvertTimeout", "ConvertTimeout"),
        ("Failed", "AccessDenied", "AccessDenied"),
        ("Failed", "", "InternalError"),
    ],
)
def test_fail_codes(status: str, code: str, expected: str) -> None:
    assert office_2017.fail_code(status, code) == expected


# --- the 2017 event ---


def record(**job: Any) -> TaskRecord:
    return TaskRecord(
        project="p", task_type="OfficeConversion", task_id="formatconvert-1", request_id="r",
        event_id="e", start_ts=1542189080.0,
        job={"source": SRC, "source_type": "docx", "target_type": "png", **job},
    )  # fmt: skip


def test_finished_event() -> None:
    text = legacy_events.message(
        record(), "Succeeded", "", "", 1542189080.342, {"TargetCount": 5, "PageCount": 9}
    )
    assert json.loads(text) == {
        "events": [
            {
                "eventName": "FormatConvertJob:JobFinished",
                "eventSource": "acs:imm",
                "eventTime": "2018-11-14T09:51:20.342Z",
                "eventVersion": "1.0",
                "imm": {
                    "code": "NoError",
                    "pageCount": "5",
                    "percent": "100",
                    "taskId": "formatconvert-1",
                },
            }
        ]
    }


def test_failed_event_carries_code_and_message() -> None:
    text = legacy_events.message(
        record(target_type="pdf"), "Failed", "ResourceNotFound", "oss://b/5页Word.docx gone",
        1542189080.0, {},
    )  # fmt: skip
    assert "5页Word.docx" in text  # not \\u-escaped
    imm = json.loads(text)["events"][0]["imm"]
    assert imm == {
        "code": "FailedToDownloadSrcFile",
        "pageCount": "0",
        "percent": "0",
        "taskId": "formatconvert-1",
        "message": "oss://b/5页Word.docx gone",
    }


# --- where a 2017 notification goes ---


@pytest.mark.parametrize(
    ("endpoint", "host"),
    [
        ("http://127.0.0.1:8080/", "127.0.0.1:8080"),
        ("http://127.0.0.1:8080", "127.0.0.1:8080"),
        ("127.0.0.1:8080", "127.0.0.1:8080"),
        ("http://IMM.Local/", "imm.local:80"),
        ("https://imm.local/", "imm.local:443"),
        ("http://1234.mns.cn-beijing.aliyuncs.com/", "1234.mns.cn-beijing.aliyuncs.com:80"),
        ("ftp://x/", None),
        ("http://:80/", None),
        ("http://h:99999/", None),
    ],
)
def test_endpoint_host(endpoint: str, host: str | None) -> None:
    assert notify_2017.endpoint_host(endpoint) == host


@pytest.mark.parametrize(
    ("endpoint", "request_host", "own", "expected"),
    [
        ("http://127.0.0.1:8080/", "127.0.0.1:8080", (), True),
        ("http://localhost:8080/", "127.0.0.1:8080", (), False),
        ("http://localhost:8080/", "127.0.0.1:8080", ("localhost:8080",), True),
        ("http://mns.example/", "127.0.0.1:8080", ("http://mns.example",), True),
        ("http://mns.example:81/", "127.0.0.1:8080", ("mns.example",), False),
        ("http://1.mns.cn-beijing.aliyuncs.com/", "imm.local", ("*",), True),
        ("http://imm.local/", "imm.local", (), True),
    ],
)
def test_own_endpoint(
    endpoint: str, request_host: str, own: tuple[str, ...], expected: bool
) -> None:
    assert notify_2017.is_own(endpoint, request_host, own) is expected


BUILTIN = {"builtin-topic"}


def ctx(**kw: Any) -> SubmitContext:
    routes = parse_routes({"routed": {"type": "webhook", "url": "https://example.com/x"}})
    return SubmitContext(routes, topic_exists=BUILTIN.__contains__, **kw)


@pytest.mark.parametrize(
    ("topic", "endpoint", "context", "expected"),
    [
        (None, None, {}, {}),
        ("builtin-topic", "http://127.0.0.1:8080/", {},
         {"MNS": {"TopicName": "builtin-topic", "Endpoint": "http://127.0.0.1:8080/"},
          BUILTIN_KEY: "builtin-topic"}),
        ("routed", "http://1.mns.cn-beijing.aliyuncs.com/", {},
         {"MNS": {"TopicName": "routed", "Endpoint": "http://1.mns.cn-beijing.aliyuncs.com/"}}),
        ("builtin-topic", None, {}, {"MNS": {"TopicName": "builtin-topic"},
                                     BUILTIN_KEY: "builtin-topic"}),
        ("routed", None, {}, {"MNS": {"TopicName": "routed"}}),
        ("builtin-topic", "http://other:1/", {"own_mns_endpoints": ("other:1",)},
         {"MNS": {"TopicName": "builtin-topic", "Endpoint": "http://other:1/"},
          BUILTIN_KEY: "builtin-topic"}),
        ("nowhere", None, {"unknown_topic": "ignore"}, {"MNS": {"TopicName": "nowhere"}}),
    ],
)  # fmt: skip
def test_notification_destinations(
    topic: str | None, endpoint: str | None, context: dict[str, Any], expected: dict[str, Any]
) -> None:
    got = notify_2017.notification(topic, endpoint, "127.0.0.1:8080", ctx(**context))
    assert got == expected


@pytest.mark.parametrize(
    ("topic", "endpoint", "code", "fragment"),
    [
        ("missing", "http://127.0.0.1:8080/", "InvalidParameter.NotifyTopicName", "does not exist"),
        ("nowhere", "http://1.mns.cn-beijing.aliyuncs.com/", "InvalidParameter.NotifyEndpoint",
         "IMM_LEGACY_MNS_ENDPOINTS"),
        ("nowhere", None, "InvalidParameter.NotifyTopicName", "IMM_NOTIFY_TOPICS"),
        (None, "http://127.0.0.1:8080/", "InvalidParameter.NotifyTopicName", "no topic"),
    ],
)  # fmt: skip
def test_undeliverable_notifications_are_refused(
    topic: str | None, endpoint: str | None, code: str, fragment: str
) -> None:
    with pytest.raises(ApiError) as info:
        notify_2017.notification(topic, endpoint, "127.0.0.1:8080", ctx())
    assert info.value.code == code and fragment in info.value.message


def test_2020_topic_goes_to_a_builtin_topic_only_when_no_route_claims_it() -> None:
    def notify(topic: str, **extra: Any) -> dict[str, Any]:
        params = Params([("Notification", json.dumps({"MNS": {"TopicName": topic}, **extra}))])
        return parse_notification(params, ctx())

    assert notify("builtin-topic")[BUILTIN_KEY] == "builtin-topic"
    assert BUILTIN_KEY not in notify("routed")
    assert notify("routed", BuiltinMNS="builtin-topic") == {"MNS": {"TopicName": "routed"}}
    with pytest.raises(ApiError):
        notify("nowhere")


def test_builtin_routes() -> None:
    routes = parse_routes(
        {
            "*": {"type": "webhook", "url": "https://example.com/all"},
            "t": {"type": "webhook", "url": "https://example.com/t"},
        }
    )
    builtin = {"MNS": {"TopicName": "b"}, BUILTIN_KEY: "b"}
    assert [d.name for d in routes.destinations(builtin)] == ["builtin-mns:b", "*"]
    assert routes.catch_all_only(builtin) == {"*"}
    assert routes.catch_all_only({"MNS": {"TopicName": "t"}}) == {"*"}
    found = routes.find("builtin-mns:b")
    assert found is not None and found.type == "builtin_mns"
    assert routes.find("builtin-mns:") is None and routes.find("nope") is None
    assert routes.find("t") is not None and routes.unknown(builtin) == []


# --- upload names (imm-engine convert) ---


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("中文报告.docx", "中文报告.docx"),
        ("5页Word.docx", "5页Word.docx"),
        ("报告 第1版 (终稿).docx", "报告_第1版_终稿.docx"),
        ("データ.pptx", "データ.pptx"),
        (unicodedata.normalize("NFD", "データ.pptx"), "データ.pptx"),
        ("보고서.xlsx", "보고서.xlsx"),
        ("हिन्दी.docx", "हिन्दी.docx"),
        ("★.docx", "file.docx"),
        ("a b.pptx", "a_b.pptx"),
        ("noext", "noext"),
        ("..docx", "file.docx"),
    ],
)
def test_upload_names_keep_every_script(name: str, safe: str) -> None:
    assert safe_name(name) == safe
