"""Hostile requests against the API app in-process (real Redis and broker, unique prefix).

Every answer must be IMM's JSON (`RequestId`, and `Code`/`Message` on errors) with a 4xx
status, never a 500; a refused request creates nothing; the server stays healthy. The
table holds the cases chosen by hand and those Hypothesis found; the `@given` tests send
generated parameter maps, bodies and headers. tests/e2e/test_hostile_api.py sends the
same kinds of request to a real `imm-engine up` (uvicorn, worker) instead.
"""

from __future__ import annotations

import json
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

with warnings.catch_warnings():  # Starlette 1.x suggests httpx2; httpx is what we have
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from imm_engine.api.app import create_app
from imm_engine.api.protocol import MAX_HEADER_BYTES, MAX_PARAMS
from imm_engine.notify.routes import parse_routes
from imm_engine.settings import Settings
from tests.support.hostile_params import ACCEPTED, PARAMETERS, VALID, hostile_text, param_maps
from tests.support.signing import raw_query, send, sign, sign_rpc

pytestmark = pytest.mark.redis

KEY_ID, SECRET = "fuzz-ak", "fuzz-secret"
HOST = "127.0.0.1:8080"
TOPIC = "imm-topic"
MAX_BODY = 4096
FORM = "application/x-www-form-urlencoded"
#: Every status an error answer may have here (500 is a bug, 503 a backend outage).
ERROR_STATUSES = {400, 404, 405, 413, 431}


@dataclass
class Api:
    client: TestClient
    r: redis.Redis
    prefix: str

    def call(
        self,
        params: dict[str, str] | list[tuple[str, str]] | None = None,
        *,
        form: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        pairs = list(params.items() if isinstance(params, dict) else params or [])
        body = raw_query(form) if form else b""
        if form:
            kwargs.setdefault("content_type", "application/x-www-form-urlencoded")
        kwargs.setdefault("key_id", KEY_ID)
        headers = sign(HOST, pairs, body, secret=SECRET, **kwargs)
        return send(self.client, headers, raw_query(pairs), body)

    def tasks(self) -> set[str]:
        return {
            k.decode()
            for k in self.r.scan_iter(f"{self.prefix}:task:*", count=1000)
            if k.count(b":") == 2  # records, not their delivery logs and kept events
        }


@pytest.fixture(scope="module")
def api(redis_url: str) -> Iterator[Api]:
    prefix = f"immtest{uuid.uuid4().hex[:8]}"
    settings_ = Settings(
        redis_url=redis_url,
        key_prefix=prefix,
        access_keys={KEY_ID: SECRET},
        access_keys_default=False,
        max_request_bytes=MAX_BODY,
        default_projects=("test-project",),
        notify_routes=parse_routes(
            {TOPIC: {"type": "webhook", "url": "http://127.0.0.1:9/hook", "allow_private": True}}
        ),
    )
    app = create_app(settings_)
    r = redis.Redis.from_url(redis_url)
    try:
        with TestClient(app, base_url=f"http://{HOST}", raise_server_exceptions=False) as client:
            yield Api(client, r, prefix)
    finally:
        app.state.endpoint.services.queue.close()
        for key in r.scan_iter(f"{prefix}*", count=1000):
            r.delete(key)


def imm_answer(response: httpx.Response) -> dict[str, Any]:
    """The response is IMM's JSON with a RequestId; errors have a Code, a Message, no 500."""
    assert response.headers["content-type"].startswith("application/json"), response.text
    body: dict[str, Any] = response.json()
    assert body["RequestId"] == response.headers["x-acs-request-id"]
    if response.status_code != 200:
        assert response.status_code in ERROR_STATUSES, (response.status_code, body)
        assert body["Code"] and body["Message"], body
        assert "Traceback" not in body["Message"]
    return body


def refused(api: Api, response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    body = imm_answer(response)
    assert (response.status_code, body["Code"]) == (status, code), body
    return body


def params(**extra: str | None) -> dict[str, str]:
    out = {**VALID, "SourceURI": "oss://bkt/dir/report.docx"}
    for name, value in extra.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


# --- the request itself ------------------------------------------------------------------


def test_valid_request_is_accepted(api: Api) -> None:
    response = api.call(params())
    body = imm_answer(response)
    assert response.status_code == 200
    assert f"{api.prefix}:task:{body['TaskId']}" in api.tasks()


@dataclass(frozen=True)
class Raw:
    """A request built by hand: what is sent, and the status and Code IMM answers with."""

    send: Callable[[Api], httpx.Response]
    status: int
    code: str


def _signed_body(body: bytes, content_type: str | None) -> Callable[[Api], httpx.Response]:
    def run(api: Api) -> httpx.Response:
        q = list(params().items())
        headers = sign(HOST, q, body, key_id=KEY_ID, secret=SECRET, content_type=content_type)
        return send(api.client, headers, raw_query(q), body)

    return run


def _signed_raw_query(query: bytes) -> Callable[[Api], httpx.Response]:
    def run(api: Api) -> httpx.Response:
        return send(api.client, sign(HOST, [], key_id=KEY_ID, secret=SECRET), query)

    return run


def _method(method: str) -> Callable[[Api], httpx.Response]:
    def run(api: Api) -> httpx.Response:
        q = list(params().items())
        headers = sign(HOST, q, key_id=KEY_ID, secret=SECRET, method=method)
        return send(api.client, headers, raw_query(q), method=method)

    return run


def _huge_header(api: Api) -> httpx.Response:
    q = list(params().items())
    headers = sign(HOST, q, key_id=KEY_ID, secret=SECRET, extra={"x-pad": "a" * MAX_HEADER_BYTES})
    return send(api.client, headers, raw_query(q))


def _streamed_body(api: Api) -> httpx.Response:
    """A body without Content-Length, larger than the limit: read in chunks, then refused."""
    body = b"Sources=" + b"x" * (MAX_BODY * 4)
    headers = sign(
        HOST,
        [],
        body,
        key_id=KEY_ID,
        secret=SECRET,
        content_type="application/x-www-form-urlencoded",
    )
    chunks = iter([body[i : i + 1000] for i in range(0, len(body), 1000)])
    return api.client.post("/", headers=headers, content=chunks)


def _path(path: str, method: str = "POST") -> Callable[[Api], httpx.Response]:
    def run(api: Api) -> httpx.Response:
        url = api.client.base_url.copy_with(raw_path=path.encode("latin-1"))
        return api.client.request(method, url)

    return run


RAW = [
    pytest.param(Raw(_signed_body(b"Sources=" + b"x" * MAX_BODY, FORM), 413,
                     "RequestEntityTooLarge"), id="body-over-limit"),
    pytest.param(Raw(_streamed_body, 413, "RequestEntityTooLarge"), id="chunked-body-over-limit"),
    pytest.param(Raw(_huge_header, 431, "RequestHeaderFieldsTooLarge"), id="huge-header"),
    pytest.param(Raw(_signed_body(b'{"SourceURI":"x"}', "application/json"), 400,
                     "InvalidArgument"), id="json-body"),
    pytest.param(Raw(_signed_body(b"Sources=%5B%5D", "text/plain"), 400, "InvalidArgument"),
                 id="text-body"),
    pytest.param(Raw(_signed_body(b"--b\r\n\r\nx\r\n--b--", "multipart/form-data; boundary=b"),
                     400, "InvalidArgument"), id="multipart-body"),
    pytest.param(Raw(_signed_body(b"Sources=%5B%5D", None), 400, "InvalidArgument"),
                 id="body-without-content-type"),
    pytest.param(Raw(_signed_body(b"\x00\xff\xfe", "application/octet-stream"), 400,
                     "InvalidArgument"), id="binary-body"),
    pytest.param(Raw(_signed_body(b"Sources=%ff%fe", FORM), 400, "InvalidArgument"),
                 id="form-invalid-utf8-escape"),
    pytest.param(Raw(_signed_body(b"Sources=\xff", FORM), 400, "InvalidArgument"),
                 id="form-invalid-utf8-byte"),
    pytest.param(Raw(_signed_body(b"Sources=\xed\xa0\x80", FORM), 400, "InvalidArgument"),
                 id="form-encoded-surrogate"),
    pytest.param(Raw(_signed_body(b"a=1&" * (MAX_PARAMS // 2) + b"=", FORM), 400,
                     "InvalidArgument"), id="form-too-many-parameters"),
    pytest.param(Raw(_signed_body(b"Sources=%zz&&=&%", FORM), 400, "InvalidJSON"),
                 id="form-broken-escapes"),  # read literally; then Sources is not JSON
    pytest.param(Raw(_signed_raw_query(b"SourceURI=%ff"), 400, "InvalidArgument"),
                 id="query-invalid-utf8"),
    pytest.param(Raw(_method("PUT"), 405, "MethodNotAllowed"), id="put"),
    pytest.param(Raw(_method("DELETE"), 405, "MethodNotAllowed"), id="delete"),
    pytest.param(Raw(_method("PATCH"), 405, "MethodNotAllowed"), id="patch"),
    pytest.param(Raw(_method("OPTIONS"), 405, "MethodNotAllowed"), id="options"),
    pytest.param(Raw(_method("TRACE"), 405, "MethodNotAllowed"), id="trace"),
    pytest.param(Raw(_path("/%2e%2e/etc/passwd"), 404, "InvalidAction.NotFound"), id="path-dotdot"),
    pytest.param(Raw(_path("/a%00b"), 404, "InvalidAction.NotFound"), id="path-nul"),
    pytest.param(Raw(_path("//"), 404, "InvalidAction.NotFound"), id="path-double-slash"),
    pytest.param(Raw(_path("/x", "OPTIONS"), 404, "InvalidAction.NotFound"), id="path-options"),
    pytest.param(Raw(lambda api: api.call(params(), action="CreateNothingTask"), 404,
                     "InvalidAction.NotFound"), id="unknown-action"),
    pytest.param(Raw(lambda api: api.call(params(), action="getTask"), 404,
                     "InvalidAction.NotFound"), id="action-wrong-case"),
    pytest.param(Raw(lambda api: api.call(params(), action="GetTask\x00"), 404,
                     "InvalidAction.NotFound"), id="action-with-nul"),
    pytest.param(Raw(lambda api: api.call(params(), version=None), 400, "MissingVersion"),
                 id="no-version"),
    pytest.param(Raw(lambda api: api.call(params(), version="2019-01-01"), 400,
                     "InvalidVersion"), id="unknown-version"),
    pytest.param(Raw(lambda api: api.call(params(), action="GetTask", version="2017-09-06"),
                     404, "InvalidAction.NotFound"), id="2020-action-in-2017"),
    pytest.param(Raw(lambda api: api.call(params(), version="2017-09-06"), 400,
                     "MissingProject"), id="2020-parameters-to-the-2017-action"),
    pytest.param(Raw(lambda api: api.call(params(), version="2020-09-30 "), 400,
                     "InvalidVersion"), id="version-with-space"),
]  # fmt: skip


@pytest.mark.parametrize("case", RAW)
def test_malformed_requests_get_imm_errors(api: Api, case: Raw) -> None:
    before = api.tasks()
    refused(api, case.send(api), case.status, case.code)
    assert api.tasks() == before


def test_parameter_in_query_and_form_is_refused(api: Api) -> None:
    response = api.call(params(), form=[("TargetType", "pdf")])
    body = refused(api, response, 400, "InvalidArgument")
    assert "TargetType" in body["Message"] and "more than once" in body["Message"]


def test_parameter_twice_in_query_is_refused(api: Api) -> None:
    response = api.call([*params().items(), ("TargetType", "png")])
    assert "more than once" in refused(api, response, 400, "InvalidArgument")["Message"]


def test_parameter_twice_in_form_is_refused(api: Api) -> None:
    response = api.call(params(), form=[("Sources", "[]"), ("Sources", "[]")])
    assert "more than once" in refused(api, response, 400, "InvalidArgument")["Message"]


def test_get_works_like_post(api: Api) -> None:
    pairs = list(params().items())
    headers = sign(HOST, pairs, key_id=KEY_ID, secret=SECRET, method="GET")
    assert send(api.client, headers, raw_query(pairs), method="GET").status_code == 200


# --- parameters --------------------------------------------------------------------------


@pytest.mark.parametrize(("changes", "code", "fragment"), PARAMETERS)
def test_hostile_parameters_are_refused(
    api: Api, changes: dict[str, str | None], code: str, fragment: str
) -> None:
    before = api.tasks()
    body = refused(api, api.call(params(**changes)), 400, code)
    assert fragment in body["Message"], body["Message"]
    assert api.tasks() == before


#: Values the pure parsers (URIs, templates, pages, packing rules, ListTasks' query) refuse
#: with InvalidValue, and the whole answer a client sees: the API maps them to the same
#: InvalidArgument (and, for 2017 requests, the same InvalidParameter.<name>) it answered
#: before the parsers stopped raising HTTP errors, byte for byte.
PARSER_REFUSALS = [
    pytest.param("CreateOfficeConversionTask", "2020-09-30", params(SourceURI="http://x/a.docx"),
                 "InvalidArgument", "The parameter SourceURI is invalid: 'http://x/a.docx' must "
                 "have the form oss://bucket/object", id="uri"),
    pytest.param("CreateOfficeConversionTask", "2020-09-30", params(TargetURI="oss://bkt/{index"),
                 "InvalidArgument", "The parameter TargetURI is invalid: the '{' at position 10 "
                 "is never closed", id="template"),
    pytest.param("CreateOfficeConversionTask", "2020-09-30", params(Pages="3-1"),
                 "InvalidArgument", "The parameter Pages is invalid: range 3-1 ends before it "
                 "starts", id="pages"),
    pytest.param("CreateFileCompressionTask", "2020-09-30",
                 {"ProjectName": "test-project", "TargetURI": "oss://bkt/a.zip",
                  "Sources": '[{"URI":"oss://bkt/x","Mode":"nope"}]'},
                 "InvalidArgument", "The parameter Sources[0] is invalid: Mode 'nope' is not one "
                 "of prefix, fullname", id="packing-rule"),
    pytest.param("CreateOfficeConversionTask", "2017-09-06",
                 {"Project": "test-project", "SrcUri": "http://x/a.docx", "TgtType": "png",
                  "TgtUri": "oss://bkt/out/"},
                 "InvalidParameter.SrcUri", "The input parameter SrcUri is not valid: "
                 "'http://x/a.docx' must have the form oss://bucket/object", id="2017-uri"),
    pytest.param("CreateOfficeConversionTask", "2017-09-06",
                 {"Project": "test-project", "SrcUri": "oss://bkt/a.docx", "TgtType": "png",
                  "TgtUri": "oss://bkt/../out/"},
                 "InvalidParameter.TgtUri", "The input parameter TgtUri is not valid: the object "
                 "key must not contain '.' or '..' path segments", id="2017-template"),
    pytest.param("ListTasks", "2020-09-30",
                 {"ProjectName": "test-project", "TagSelector": "a=1,,b"},
                 "InvalidArgument", "The parameter TagSelector is invalid: a tag key is expected "
                 "in 'a=1,,b' (syntax: key=value,key2!=v,key3,!key4)", id="tag-selector"),
    pytest.param("ListOfficeConversionTask", "2017-09-06",
                 {"Project": "test-project", "Marker": "garbage!!"},
                 "InvalidParameter.Marker", "The input parameter Marker is not valid.",
                 id="2017-marker"),
]  # fmt: skip


@pytest.mark.parametrize(("action", "version", "values", "code", "message"), PARSER_REFUSALS)
def test_parser_refusals_are_answered_as_before(
    api: Api, action: str, version: str, values: dict[str, str], code: str, message: str
) -> None:
    body = refused(api, api.call(values, action=action, version=version), 400, code)
    assert body["Message"] == message


@pytest.mark.parametrize("changes", ACCEPTED)
def test_odd_but_valid_parameters_are_accepted_as_given(
    api: Api, changes: dict[str, str | None]
) -> None:
    response = api.call(params(**changes))
    body = imm_answer(response)
    assert response.status_code == 200, body
    rec = api.r.hgetall(f"{api.prefix}:task:{body['TaskId']}")
    definition = json.loads(rec[b"definition"])
    for name, value in changes.items():
        if value is not None and not value.startswith(("{", "[")):
            assert definition[name] == value
    get = api.call(
        {"ProjectName": "test-project", "TaskType": "OfficeConversion", "TaskId": body["TaskId"],
         "RequestDefinition": "true"},
        action="GetTask",
    )  # fmt: skip
    assert imm_answer(get)["TaskId"] == body["TaskId"]


# --- signatures (what tests/e2e/test_api_protocol.py does not cover) ---------------------


def _stamp(offset: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset))


def _tampered(name: str, value: str) -> Callable[[Api], httpx.Response]:
    def run(api: Api) -> httpx.Response:
        q = list(params().items())
        headers = sign(HOST, q, key_id=KEY_ID, secret=SECRET)
        headers[name] = value
        return send(api.client, headers, raw_query(q))

    return run


def _authorization(value: str) -> Callable[[Api], httpx.Response]:
    return _tampered("authorization", value)


def _unsigned(*names: str) -> Callable[[Api], httpx.Response]:
    return lambda api: api.call(params(), unsigned=names)


def _without(name: str) -> Callable[[Api], httpx.Response]:
    """`name` listed in SignedHeaders but not sent."""

    def run(api: Api) -> httpx.Response:
        q = list(params().items())
        headers = sign(HOST, q, key_id=KEY_ID, secret=SECRET, extra={name: ""})
        del headers[name]
        return send(api.client, headers, raw_query(q))

    return run


SIGNATURES = [
    pytest.param(Raw(lambda api: api.call(params(), date=_stamp(3600)), 400,
                     "InvalidTimeStamp.Expired"), id="date-in-the-future"),
    pytest.param(Raw(lambda api: api.call(params(), date="yesterday"), 400,
                     "InvalidTimeStamp.Format"), id="date-malformed"),
    pytest.param(Raw(lambda api: api.call(params(), nonce="n" * 129), 400,
                     "InvalidSignatureNonce"), id="nonce-too-long"),
    pytest.param(Raw(_tampered("x-acs-date", "2001-01-01T00:00:00Z"), 400, "SignatureDoesNotMatch"),
                 id="date-changed-after-signing"),
    pytest.param(Raw(_tampered("x-acs-action", "GetTask"), 400, "SignatureDoesNotMatch"),
                 id="action-changed-after-signing"),
    pytest.param(Raw(_tampered("host", "evil.example:8080"), 400, "SignatureDoesNotMatch"),
                 id="host-changed-after-signing"),
    pytest.param(Raw(_tampered("x-acs-content-sha256", "0" * 64), 400, "SignatureDoesNotMatch"),
                 id="body-hash-changed"),
    pytest.param(Raw(_authorization(""), 400, "IncompleteSignature"), id="authorization-empty"),
    pytest.param(Raw(_authorization("Bearer abc"), 400, "IncompleteSignature"),
                 id="authorization-other-scheme"),
    pytest.param(Raw(_authorization("ACS3-HMAC-SHA256 garbage"), 400, "IncompleteSignature"),
                 id="authorization-garbage"),
    pytest.param(Raw(_authorization("ACS3-HMAC-SHA256 Credential=,SignedHeaders=,Signature="),
                     400, "IncompleteSignature"), id="authorization-empty-parts"),
    pytest.param(Raw(_authorization("ACS3-HMAC-SHA256 Credential=" + "k" * 10000
                                    + ",SignedHeaders=host,Signature=00"), 404,
                     "InvalidAccessKeyId.NotFound"), id="authorization-huge-key-id"),
    pytest.param(Raw(_unsigned("host"), 400, "IncompleteSignature"), id="host-not-signed"),
    pytest.param(Raw(_unsigned("x-acs-signature-nonce"), 400, "IncompleteSignature"),
                 id="nonce-not-signed"),
    pytest.param(Raw(_without("x-acs-signature-nonce"), 400, "IncompleteSignature"),
                 id="signed-nonce-header-absent"),
    pytest.param(Raw(_without("x-acs-date"), 400, "IncompleteSignature"),
                 id="signed-date-header-absent"),
    pytest.param(Raw(lambda api: api.call(params(), key_id="nobody"), 404,
                     "InvalidAccessKeyId.NotFound"), id="unknown-key"),
]  # fmt: skip


@pytest.mark.parametrize("case", SIGNATURES)
def test_bad_signatures_are_refused(api: Api, case: Raw) -> None:
    before = api.tasks()
    refused(api, case.send(api), case.status, case.code)
    assert api.tasks() == before


def test_duplicated_authorization_header_is_refused(api: Api) -> None:
    q = list(params().items())
    headers = sign(HOST, q, key_id=KEY_ID, secret=SECRET)
    auth = headers.pop("authorization")
    url = api.client.base_url.copy_with(raw_path=b"/?" + raw_query(q))
    pairs = [*headers.items(), ("authorization", auth), ("authorization", auth)]
    request = api.client.build_request("POST", url, headers=pairs)
    refused(api, api.client.send(request), 400, "IncompleteSignature")


# --- generated input ---------------------------------------------------------------------


def _wire(value: str) -> str:
    """What can travel as UTF-8 (unpaired surrogates cannot)."""
    return value.encode("utf-8", "replace").decode("utf-8")


wire_maps = param_maps.map(lambda m: {_wire(k): _wire(v) for k, v in m.items()})
FUZZ = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@FUZZ
@given(wire_maps, st.booleans())
@example({**VALID, "Unknown": "[" * 3000}, False)  # RecursionError keeping the definition
@example({**VALID, "Unknown": '{"a":"\\ud800"}'}, True)  # 500: surrogate in the stored JSON
@example({**VALID, "ProjectName": "p\n"}, False)  # accepted: `$` before a newline
@example({**VALID, "Notification": '{"MNS":{"TopicName":"\\ud800"}}'}, False)  # 500 answering
def test_generated_parameters_get_imm_answers(
    api: Api, fields: dict[str, str], in_form: bool
) -> None:
    before = api.tasks()
    pairs = list(fields.items())
    response = api.call([], form=pairs) if in_form and pairs else api.call(pairs)
    body = imm_answer(response)
    event(f"{response.status_code} {body.get('Code', '')}")
    if response.status_code == 200:
        assert body["TaskId"].startswith("OfficeConversion-")
        assert api.tasks() - before == {f"{api.prefix}:task:{body['TaskId']}"}
    else:
        assert api.tasks() == before


CONTENT_TYPES = [
    None, FORM, f"{FORM}; charset=utf-8", f"{FORM}; charset=gbk", "application/json",
    "text/plain", "multipart/form-data", "application/octet-stream", "", "\x00", "a" * 300,
]  # fmt: skip
header_names = st.sampled_from(
    ["x-acs-action", "x-acs-version", "content-type", "x-acs-date", "accept", "x-other",
     "x-acs-security-token", "content-length"]
)  # fmt: skip
header_values = st.one_of(
    st.text(st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"),
            max_size=40),
    st.sampled_from(["GetTask", "CreateOfficeConversionTask", "2020-09-30", "", "0", "-1"]),
)  # fmt: skip


@FUZZ
@given(
    body=st.one_of(st.binary(max_size=200), hostile_text.map(lambda t: _wire(t).encode())),
    content_type=st.sampled_from(CONTENT_TYPES),
    query=st.one_of(st.binary(max_size=60), st.just(b"")),
    extra=st.dictionaries(header_names, header_values, max_size=3),
    signed=st.booleans(),
)
def test_generated_raw_requests_get_imm_answers(
    api: Api, body: bytes, content_type: str | None, query: bytes, extra: dict[str, str],
    signed: bool,
) -> None:  # fmt: skip
    query = bytes(b for b in query if 32 < b < 127 and b not in b"#")  # what a URL can carry
    headers = {k: v for k, v in extra.items() if k != "content-length"}
    if content_type is not None:
        headers["content-type"] = content_type
    if signed:
        try:
            decoded = httpx.QueryParams(query.decode())
        except Exception:
            decoded = httpx.QueryParams()
        pairs = list(decoded.multi_items())
        headers = sign(
            HOST, pairs, body, key_id=KEY_ID, secret=SECRET, content_type=content_type,
            extra={k: v for k, v in extra.items() if k not in ("content-type", "content-length")},
        )  # fmt: skip
    try:
        response = send(api.client, headers, query, body)
    except (httpx.InvalidURL, UnicodeEncodeError, ValueError):
        return  # not a request any HTTP client could send
    event(f"{response.status_code} {imm_answer(response).get('Code', '')}")


def test_server_is_healthy_after_the_fuzzing(api: Api) -> None:
    assert api.client.get("/healthz").status_code == 200
    assert api.call(params()).status_code == 200


# --- GetTask -----------------------------------------------------------------------------


def get_task(api: Api, task_id: str, **extra: str) -> httpx.Response:
    return api.call(
        {"ProjectName": "test-project", "TaskType": "OfficeConversion", "TaskId": task_id,
         **extra},
        action="GetTask",
    )  # fmt: skip


@pytest.fixture(scope="module")
def known_task(api: Api) -> str:
    task_id: str = api.call(params()).json()["TaskId"]
    # what the notifier adds next to a record: a list under the record's key
    api.r.rpush(f"{api.prefix}:task:{task_id}:deliveries", "{}")
    return task_id


@pytest.mark.parametrize(
    "suffix", [":deliveries", "*", ":*", "\x00", "/../x", " ", "\n", "%00", "?"]
)
def test_get_task_with_hostile_ids_is_not_found(api: Api, known_task: str, suffix: str) -> None:
    refused(api, get_task(api, known_task + suffix), 404, "ResourceNotFound")


@FUZZ
@given(hostile_text.map(_wire))
@example("OfficeConversion-x:deliveries")
@example("*")
def test_generated_task_ids_get_imm_answers(api: Api, task_id: str) -> None:
    response = get_task(api, task_id)
    body = imm_answer(response)
    assert response.status_code in (400, 404), body


# --- the classic RPC signature (v2): Action and Version come from the parameters ----------


def rpc_call(api: Api, pairs: list[tuple[str, str]], **kwargs: Any) -> httpx.Response:
    signed = sign_rpc(pairs, key_id=KEY_ID, secret=SECRET, **kwargs)
    return send(api.client, {"host": HOST}, raw_query(signed))


RPC = [
    pytest.param({}, 200, "", id="valid"),
    pytest.param({"action": None}, 400, "MissingAction", id="no-action"),
    pytest.param({"version": None}, 400, "MissingVersion", id="no-version"),
    pytest.param({"action": "Nothing"}, 404, "InvalidAction.NotFound", id="unknown-action"),
    pytest.param({"timestamp": "2001-01-01T00:00:00Z"}, 400, "InvalidTimeStamp.Expired",
                 id="stale"),
    pytest.param({"timestamp": "now"}, 400, "InvalidTimeStamp.Format", id="bad-timestamp"),
    pytest.param({"nonce": "n" * 200}, 400, "InvalidSignatureNonce", id="long-nonce"),
]  # fmt: skip


@pytest.mark.parametrize(("kwargs", "status", "code"), RPC)
def test_rpc_signed_requests(api: Api, kwargs: dict[str, Any], status: int, code: str) -> None:
    response = rpc_call(api, list(params().items()), **kwargs)
    body = imm_answer(response)
    assert (response.status_code, body.get("Code", "")) == (status, code), body


def test_rpc_signature_over_other_parameters_is_refused(api: Api) -> None:
    signed = sign_rpc(list(params().items()), key_id=KEY_ID, secret=SECRET)
    tampered = [(k, "pdf" if k == "TargetType" else v) for k, v in signed]
    refused(
        api, send(api.client, {"host": HOST}, raw_query(tampered)), 400, "SignatureDoesNotMatch"
    )


@FUZZ
@given(wire_maps)
def test_generated_rpc_requests_get_imm_answers(api: Api, fields: dict[str, str]) -> None:
    before = api.tasks()
    response = rpc_call(api, list(fields.items()))
    body = imm_answer(response)
    event(f"{response.status_code} {body.get('Code', '')}")
    if response.status_code != 200:
        assert api.tasks() == before
