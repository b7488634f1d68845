"""POP request signatures (imm_engine/api/signature.py), spec sections 10.3 and 10.6.

Known-good signatures come from the official SDK's own signing code
(`alibabacloud_tea_openapi.utils.Utils`), never from the module under test.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from types import SimpleNamespace
from urllib.parse import parse_qsl

import pytest
from alibabacloud_tea_openapi.utils import Utils

from imm_engine.api import signature
from imm_engine.api.protocol import read_call
from imm_engine.api.signature import SignedRequest, verify
from imm_engine.errors import ApiError

AK, SECRET = "testak", "testsecret"
KEYS = {AK: SECRET, "other-ak": "other-secret"}
secret_for: Callable[[str], str | None] = KEYS.get

QUERY = {
    "ProjectName": "test-project",
    "SourceURI": "oss://my-bucket/dir/测试 file.docx",
    "TargetType": "png",
    "TargetURI": "oss://my-bucket/out/{dirname}/{barename}/{index}.{autoext}",
    "Tags": '{"User":"Jane","Num":3}',
    "LongPicture": "False",
    "EndPage": "-1",
    "Empty": "",
}
BODY = b"Sources=%5B%7B%22Rotate%22%3A90%2C%22URI%22%3A%22oss%3A%2F%2Fb%2F1.jpg%22%7D%5D"


def sdk_headers(body: bytes, **extra: str) -> dict[str, str]:
    """The headers the SDK sets (and signs) before it computes `Authorization`."""
    headers = {
        "host": "127.0.0.1:18930",
        "x-acs-version": "2020-09-30",
        "x-acs-action": "CreateOfficeConversionTask",
        "user-agent": "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2",
        "x-acs-date": "2026-11-22T17:24:35Z",
        "x-acs-signature-nonce": "978edb1de5bcfb8ae0b32f371f37d107",
        "accept": "application/json",
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
        "x-acs-credentials-provider": "static_ak",
    }
    if body:
        headers["content-type"] = "application/x-www-form-urlencoded"
    headers.update(extra)
    return headers


def sdk_signed(
    query: dict[str, str] = QUERY,
    body: bytes = BODY,
    *,
    ak: str = AK,
    secret: str = SECRET,
    method: str = "POST",
    headers: dict[str, str] | None = None,
) -> SignedRequest:
    """A request signed by the SDK, as our HTTP layer hands it to `verify`."""
    headers = sdk_headers(body) if headers is None else headers
    sdk_request = SimpleNamespace(pathname="/", method=method, query=dict(query), headers=headers)
    payload = hashlib.sha256(body).hexdigest()
    authorization = Utils.get_authorization(sdk_request, "ACS3-HMAC-SHA256", payload, ak, secret)
    lowered = {k.lower(): v for k, v in headers.items()}
    lowered["authorization"] = authorization
    return SignedRequest(method, "/", list(query.items()), lowered, body)


def with_header(req: SignedRequest, name: str, value: str | None) -> SignedRequest:
    headers = dict(req.headers)
    if value is None:
        headers.pop(name, None)
    else:
        headers[name] = value
    return replace(req, headers=headers)


def with_query(req: SignedRequest, name: str, value: str | None) -> SignedRequest:
    query = [(k, v) for k, v in req.query if k != name]
    if value is not None:
        query.append((name, value))
    return replace(req, query=query)


def expect(req: SignedRequest, code: str, status: int = 400) -> ApiError:
    with pytest.raises(ApiError) as err:
        verify(req, secret_for)
    assert err.value.code == code
    assert err.value.status == status
    return err.value


# --- ACS3-HMAC-SHA256: accepted ----------------------------------------------------------

VALID = [
    # (request, the key id it proves)
    pytest.param(sdk_signed(), AK, id="create-with-body-unicode-and-spaces"),
    pytest.param(sdk_signed(body=b""), AK, id="no-body"),
    pytest.param(sdk_signed(query={}), AK, id="no-query"),
    pytest.param(sdk_signed(query={"k": "~!*'()/:?=&+% \t"}), AK, id="reserved-chars-in-value"),
    pytest.param(sdk_signed(ak="other-ak", secret="other-secret"), "other-ak", id="second-key"),
    pytest.param(sdk_signed(method="GET"), AK, id="get"),
    pytest.param(sdk_signed(headers=sdk_headers(BODY, **{"x-acs-security-token": "sts-token",
                                                         "x-acs-accesskey-id": AK})),
                 AK, id="sts-headers-signed"),
    pytest.param(sdk_signed(headers=sdk_headers(BODY, **{"X-Acs-Custom": "  padded  "})),
                 AK, id="header-case-and-padding"),
]  # fmt: skip


@pytest.mark.parametrize(("req", "key_id"), VALID)
def test_acs3_valid(req: SignedRequest, key_id: str) -> None:
    creds = verify(req, secret_for)
    assert creds.access_key_id == key_id
    assert creds.date == "2026-11-22T17:24:35Z"
    assert creds.nonce == "978edb1de5bcfb8ae0b32f371f37d107"


def test_acs3_query_order_does_not_matter() -> None:
    req = sdk_signed()
    assert verify(replace(req, query=list(reversed(req.query))), secret_for).access_key_id == AK


def test_acs3_unsigned_header_may_change() -> None:
    # requests adds Accept-Encoding and Content-Length after signing; they are not signed.
    req = with_header(sdk_signed(), "accept-encoding", "gzip")
    req = with_header(req, "content-length", "79")
    assert verify(req, secret_for).access_key_id == AK


def test_acs3_upper_case_signature_hex_is_accepted() -> None:
    req = sdk_signed()
    auth = req.headers["authorization"]
    head, sig = auth.rsplit("Signature=", 1)
    assert verify(with_header(req, "authorization", f"{head}Signature={sig.upper()}"), secret_for)


def test_acs3_request_captured_from_the_sdk() -> None:
    """The sync request the real SDK 5.0.3 sent to a capture server (spec section 10.4)."""
    query = parse_qsl(
        "CredentialConfig=%7B%22Chain%22%3A%5B%5D%2C%22ServiceRole%22%3A%22AliyunIMMDefaultRole"
        "%22%7D&EndPage=3&ImageDPI=150&LongPicture=False&Notification=%7B%22MNS%22%3A%7B%22Topic"
        "Name%22%3A%22imm-topic%22%7D%2C%22RocketMQ%22%3A%7B%22InstanceId%22%3A%22rmq-1%22%2C%22"
        "TopicName%22%3A%22t%22%7D%7D&ProjectName=test-project&ShowComments=True&SourceURI=oss%3A"
        "%2F%2Fmy-bucket%2Fdir%2F%E6%B5%8B%E8%AF%95+file.docx&StartPage=1&Tags=%7B%22User%22%3A%22"
        "Jane%22%2C%22Num%22%3A3%7D&TargetType=png&TargetURI=oss%3A%2F%2Fmy-bucket%2Fout%2F%7B"
        "dirname%7D%2F%7Bbarename%7D%2F%7Bindex%7D.%7Bautoext%7D&TrimPolicy=%7B%22DisableDelete"
        "EmptyCell%22%3Atrue%7D&UserData=%7B%22file%22%3A%22x%22%7D",
        keep_blank_values=True,
    )
    assert dict(query)["SourceURI"] == "oss://my-bucket/dir/测试 file.docx"
    headers = sdk_headers(BODY)
    headers["x-acs-content-sha256"] = (
        "493bcdc01a6a2a01be840f2f578d66ca639c515e3396c2c2a5f10127d2ec67a4"
    )
    headers["authorization"] = (
        "ACS3-HMAC-SHA256 Credential=testak,SignedHeaders=accept;content-type;host;user-agent;"
        "x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;"
        "x-acs-signature-nonce;x-acs-version,"
        "Signature=9dae33bf6128eba0d3ef97a811bd24f74b63c39796ea3299462195509c243ca2"
    )
    assert verify(SignedRequest("POST", "/", query, headers, BODY), secret_for).access_key_id == AK


# --- ACS3-HMAC-SHA256: refused -----------------------------------------------------------

_GOOD = sdk_signed()

MISMATCHES = [
    pytest.param(sdk_signed(secret="wrong-secret"), id="wrong-secret"),
    pytest.param(with_query(_GOOD, "TargetType", "jpg"), id="tampered-query-value"),
    pytest.param(with_query(_GOOD, "SourceURI", "oss://my-bucket/dir/测试  file.docx"),
                 id="tampered-unicode-value"),
    pytest.param(with_query(_GOOD, "Extra", "1"), id="query-param-added"),
    pytest.param(with_query(_GOOD, "LongPicture", None), id="query-param-removed"),
    pytest.param(with_query(_GOOD, "Empty", None), id="empty-query-param-removed"),
    pytest.param(with_header(_GOOD, "x-acs-action", "GetTask"), id="tampered-action-header"),
    pytest.param(with_header(_GOOD, "host", "evil.example.com"), id="tampered-host"),
    pytest.param(with_header(_GOOD, "x-acs-date", "2026-11-22T17:24:36Z"), id="tampered-date"),
    pytest.param(with_header(_GOOD, "user-agent", None), id="signed-header-removed"),
    pytest.param(replace(_GOOD, method="GET"), id="tampered-method"),
    pytest.param(replace(_GOOD, path="/other"), id="tampered-path"),
    pytest.param(replace(_GOOD, body=BODY + b"&x=1"), id="body-not-matching-content-sha256"),
    pytest.param(with_header(replace(_GOOD, body=b"x=1"), "x-acs-content-sha256",
                             hashlib.sha256(b"x=1").hexdigest()), id="body-and-hash-replaced"),
    pytest.param(with_header(_GOOD, "x-acs-content-sha256", None), id="content-sha256-removed"),
]  # fmt: skip


@pytest.mark.parametrize("req", MISMATCHES)
def test_acs3_signature_does_not_match(req: SignedRequest) -> None:
    expect(req, "SignatureDoesNotMatch")


def test_acs3_body_mismatch_says_so() -> None:
    err = expect(replace(_GOOD, body=b"other"), "SignatureDoesNotMatch")
    assert "x-acs-content-sha256" in err.message


def test_acs3_unknown_key_id() -> None:
    err = expect(sdk_signed(ak="nobody"), "InvalidAccessKeyId.NotFound", 404)
    assert "nobody" in err.message


def test_missing_authorization() -> None:
    req = with_header(_GOOD, "authorization", None)
    expect(req, "MissingAuthorization")


_SIG = "Signature=" + "0" * 64
_SH = "SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce"

MALFORMED = [
    # (Authorization value, fragment)
    pytest.param("", "missing", id="empty"),
    pytest.param("Bearer abc", "unsupported signature algorithm", id="other-scheme"),
    pytest.param("ACS3-HMAC-SM3 Credential=testak," + _SH + "," + _SIG,
                 "unsupported signature algorithm", id="sm3"),
    pytest.param("ACS3-HMAC-SHA256", "malformed", id="algorithm-only"),
    pytest.param("ACS3-HMAC-SHA256 garbage", "malformed", id="no-equals"),
    pytest.param("ACS3-HMAC-SHA256 Credential=testak," + _SH, "has no Signature",
                 id="no-signature"),
    pytest.param("ACS3-HMAC-SHA256 Credential=testak," + _SIG, "has no SignedHeaders",
                 id="no-signed-headers"),
    pytest.param("ACS3-HMAC-SHA256 " + _SH + "," + _SIG, "has no Credential", id="no-credential"),
    pytest.param("ACS3-HMAC-SHA256 Credential=," + _SH + "," + _SIG, "empty Credential",
                 id="empty-credential"),
    pytest.param("ACS3-HMAC-SHA256 Credential=testak," + _SH + ",Signature=", "empty Credential",
                 id="empty-signature"),
    pytest.param("ACS3-HMAC-SHA256 Credential=testak,SignedHeaders=host;x-acs-date," + _SIG,
                 "SignedHeaders must include x-acs-action, x-acs-content-sha256, "
                 "x-acs-signature-nonce", id="required-headers-unsigned"),
]  # fmt: skip


@pytest.mark.parametrize(("value", "fragment"), MALFORMED)
def test_acs3_malformed_authorization(value: str, fragment: str) -> None:
    err = expect(with_header(_GOOD, "authorization", value), "IncompleteSignature")
    assert fragment in err.message


def test_acs3_request_signed_without_a_required_header_is_incomplete() -> None:
    headers = sdk_headers(BODY)
    del headers["x-acs-signature-nonce"]
    err = expect(sdk_signed(headers=headers), "IncompleteSignature")
    assert "x-acs-signature-nonce" in err.message


# --- RPC (v2, HMAC-SHA1, Signature parameter) --------------------------------------------

RPC_QUERY = {
    "Action": "CreateOfficeConversionTask",
    "Format": "json",
    "Version": "2020-09-30",
    "Timestamp": "2026-11-22T17:24:35Z",
    "SignatureNonce": "6a8ad1b8-0f53-4f0b-8b8e-0a7c2f1e1a11",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureVersion": "1.0",
    "AccessKeyId": AK,
    "ProjectName": "test-project",
    "SourceURI": "oss://my-bucket/dir/测试 file.docx",
    "TargetURI": "oss://my-bucket/out/{index}.{autoext}",
}
RPC_FORM = {"Sources": '[{"Rotate":90,"URI":"oss://b/1.jpg"}]'}


def rpc_signed(
    query: dict[str, str] = RPC_QUERY,
    form: dict[str, str] = RPC_FORM,
    *,
    secret: str = SECRET,
    method: str = "POST",
) -> SignedRequest:
    signature = Utils.get_rpcsignature({**query, **form}, method, secret)
    pairs = [*query.items(), ("Signature", signature)]
    return SignedRequest(method, "/", pairs, {"host": "127.0.0.1:18930"}, b"", list(form.items()))


RPC_VALID = [
    pytest.param(rpc_signed(), id="query-and-form"),
    pytest.param(rpc_signed(form={}), id="query-only"),
    pytest.param(rpc_signed(method="GET", form={}), id="get"),
    pytest.param(rpc_signed(query={**RPC_QUERY, "Tags": '{"k":"~ *+/"}'}), id="reserved-chars"),
]  # fmt: skip


@pytest.mark.parametrize("req", RPC_VALID)
def test_rpc_valid(req: SignedRequest) -> None:
    creds = verify(req, secret_for)
    assert creds.access_key_id == AK
    assert creds.date == RPC_QUERY["Timestamp"]
    assert creds.nonce == RPC_QUERY["SignatureNonce"]


def test_rpc_all_params_in_the_form_body() -> None:
    # Hand-written clients POST everything, the signature included, as a form body.
    req = rpc_signed()
    moved = replace(req, query=[], form=[*req.query, *req.form])
    assert verify(moved, secret_for).access_key_id == AK


def _rpc_tamper(name: str, value: str | None, *, in_form: bool = False) -> SignedRequest:
    req = rpc_signed()
    if in_form:
        form = [(k, v) for k, v in req.form if k != name]
        return replace(req, form=form + ([(name, value)] if value is not None else []))
    return with_query(req, name, value)


RPC_REFUSED = [
    # (request, code, status)
    pytest.param(rpc_signed(secret="wrong"), "SignatureDoesNotMatch", 400, id="wrong-secret"),
    pytest.param(_rpc_tamper("SourceURI", "oss://my-bucket/x.docx"), "SignatureDoesNotMatch", 400,
                 id="tampered-query"),
    pytest.param(_rpc_tamper("Sources", "[]", in_form=True), "SignatureDoesNotMatch", 400,
                 id="tampered-form"),
    pytest.param(_rpc_tamper("Extra", "1"), "SignatureDoesNotMatch", 400, id="param-added"),
    pytest.param(replace(rpc_signed(), method="GET"), "SignatureDoesNotMatch", 400,
                 id="tampered-method"),
    pytest.param(_rpc_tamper("AccessKeyId", "nobody"), "InvalidAccessKeyId.NotFound", 404,
                 id="unknown-key"),
    pytest.param(_rpc_tamper("Timestamp", None), "IncompleteSignature", 400, id="no-timestamp"),
    pytest.param(_rpc_tamper("SignatureNonce", None), "IncompleteSignature", 400, id="no-nonce"),
    pytest.param(_rpc_tamper("AccessKeyId", None), "IncompleteSignature", 400, id="no-key-id"),
    pytest.param(_rpc_tamper("Signature", ""), "IncompleteSignature", 400, id="empty-signature"),
    pytest.param(_rpc_tamper("SignatureMethod", "HMAC-SHA256"), "IncompleteSignature", 400,
                 id="other-method"),
]  # fmt: skip


@pytest.mark.parametrize(("req", "code", "status"), RPC_REFUSED)
def test_rpc_refused(req: SignedRequest, code: str, status: int) -> None:
    expect(req, code, status)


def test_authorization_header_takes_precedence_over_signature_param() -> None:
    # Had the RPC scheme been tried, the missing Timestamp would give IncompleteSignature;
    # the ACS3 scheme sees a query that changed after signing.
    expect(with_query(_GOOD, "Signature", "bogus"), "SignatureDoesNotMatch")


# --- what the signature covers decides the action (issue 11.5) ---------------------------

RPC_HEADERS = [
    # (extra headers, refused)
    pytest.param({}, False, id="no-header"),
    pytest.param({"x-acs-action": "CreateOfficeConversionTask"}, False, id="equal-action"),
    pytest.param({"x-acs-version": "2020-09-30"}, False, id="equal-version"),
    pytest.param({"x-acs-action": "DeleteProject"}, True, id="other-action"),
    pytest.param({"x-acs-action": ""}, True, id="empty-action"),
    pytest.param({"x-acs-version": "2017-09-06"}, True, id="other-version"),
]  # fmt: skip


@pytest.mark.parametrize(("extra", "refused"), RPC_HEADERS)
def test_rpc_action_and_version_come_from_the_signed_parameters(
    extra: dict[str, str], refused: bool
) -> None:
    req = rpc_signed()
    for name, value in extra.items():
        req = with_header(req, name, value)
    verify(req, secret_for)  # the headers are not signed: the signature holds either way
    if refused:
        with pytest.raises(ApiError) as err:
            read_call(req)
        assert (err.value.code, err.value.status) == ("SignatureDoesNotMatch", 400)
        assert next(iter(extra)) in err.value.message
    else:
        assert read_call(req).action == "CreateOfficeConversionTask"


def test_rpc_action_header_without_the_parameter_is_refused() -> None:
    query = {k: v for k, v in RPC_QUERY.items() if k != "Action"}
    req = with_header(rpc_signed(query=query), "x-acs-action", "DeleteProject")
    verify(req, secret_for)
    with pytest.raises(ApiError) as err:
        read_call(req)
    assert err.value.code == "SignatureDoesNotMatch"


def test_acs3_version_header_must_be_signed() -> None:
    headers = sdk_headers(BODY)
    del headers["x-acs-version"]
    req = with_header(sdk_signed(headers=headers), "x-acs-version", "2017-09-06")
    err = expect(req, "IncompleteSignature")
    assert "x-acs-version" in err.message
    # Without the header (the version then comes from the signed query) it verifies.
    assert verify(with_header(req, "x-acs-version", None), secret_for).access_key_id == AK


# --- the classic RPC signature's mismatch answer (spec 2017 A.2) ---

SPEC_VECTOR = [
    ("AccessKeyId", "testid"), ("Action", "GetOfficeConversionTask"), ("Format", "JSON"),
    ("Project", "demo"), ("RegionId", "cn-beijing"), ("SignatureMethod", "HMAC-SHA1"),
    ("SignatureNonce", "0f8c6a1e2b3d4c5e9a7b6c5d4e3f2a1b"), ("SignatureType", ""),
    ("SignatureVersion", "1.0"), ("TaskId", "formatconvert-00000000-0000-4000-8000-000000000000"),
    ("Timestamp", "2018-11-15T02:42:31Z"), ("Version", "2017-09-06"),
]  # fmt: skip


def test_rpc_vector_of_the_2017_spec() -> None:
    sts = signature.rpc_string_to_sign("POST", SPEC_VECTOR)
    assert sts.startswith("POST&%2F&AccessKeyId%3Dtestid%26Action%3DGetOfficeConversionTask")
    assert "Timestamp%3D2018-11-15T02%253A42%253A31Z" in sts
    assert (
        signature.rpc_signature("testsecret", "POST", SPEC_VECTOR) == "ZKdOJRG/O+XQ1ECGZC+itkKSNa0="
    )


def test_rpc_mismatch_carries_the_string_to_sign_after_the_colon() -> None:
    """aliyun-python-sdk-core 2.16 evaluates message.split(':')[1] and compares it with its
    own StringToSign; it must be there, whole, however long the request."""
    params = [*SPEC_VECTOR, ("Signature", "wrong"), ("SrcUri", "oss://b/" + "页" * 400)]
    req = signature.SignedRequest("GET", "/", params, {}, b"")
    with pytest.raises(ApiError) as info:
        signature.verify_rpc(req, {"testid": "testsecret"}.get)
    err = info.value
    assert err.code == "SignatureDoesNotMatch" and err.status == 400
    assert err.message.split(":")[1] == signature.rpc_string_to_sign("GET", params)
    assert len(err.message) > 2000
