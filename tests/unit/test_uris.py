"""`oss://bucket/key` parsing and validation (imm_engine/targets/uris.py), spec section 5."""

from __future__ import annotations

import pytest

from imm_engine.api.params import refusal
from imm_engine.errors import InvalidValue
from imm_engine.targets import uris

# --- valid object URIs -------------------------------------------------------------------

VALID_OBJECTS = [
    # (uri, bucket, key)
    pytest.param("oss://test-bucket/test-object/test.docx", "test-bucket", "test-object/test.docx",
                 id="doc-example"),
    pytest.param("oss://abc/x", "abc", "x", id="bucket-3-chars"),
    pytest.param("oss://" + "a" * 63 + "/x", "a" * 63, "x", id="bucket-63-chars"),
    pytest.param("oss://0bucket9/k", "0bucket9", "k", id="bucket-digits-at-ends"),
    pytest.param("oss://a-b-c/k", "a-b-c", "k", id="bucket-inner-hyphens"),
    pytest.param("oss://my-bucket/dir/测试 file.docx", "my-bucket", "dir/测试 file.docx",
                 id="chinese-and-space"),
    pytest.param("oss://b12/a b/c d.pdf", "b12", "a b/c d.pdf", id="spaces"),
    pytest.param("oss://b12/...", "b12", "...", id="three-dots-is-a-name"),
    pytest.param("oss://b12/a/.hidden", "b12", "a/.hidden", id="dotfile"),
    pytest.param("oss://b12/a..b/c", "b12", "a..b/c", id="dots-inside-a-segment"),
    pytest.param("oss://b12/a\\b.txt", "b12", "a\\b.txt", id="backslash-inside"),
    pytest.param("oss://b12/" + "k" * 1023, "b12", "k" * 1023, id="key-1023-bytes"),
    pytest.param("oss://b12/" + "测" * 341, "b12", "测" * 341, id="key-1023-utf8-bytes"),
]  # fmt: skip


@pytest.mark.parametrize(("uri", "bucket", "key"), VALID_OBJECTS)
def test_parse_object_accepts(uri: str, bucket: str, key: str) -> None:
    parsed = uris.parse_object(uri, "SourceURI")
    assert (parsed.bucket, parsed.key) == (bucket, key)
    assert str(parsed) == uri


# --- invalid object URIs -----------------------------------------------------------------

INVALID_OBJECTS = [
    # (uri, a fragment the message must contain)
    pytest.param("", "it is empty", id="empty"),
    pytest.param("http://bucket.oss-cn-hangzhou.aliyuncs.com/test-object/test.docx",
                 "must have the form oss://bucket/object", id="http-url"),
    pytest.param("https://b12/x", "must have the form", id="https"),
    pytest.param("OSS://b12/x", "must have the form", id="upper-case-scheme"),
    pytest.param("oss:/b12/x", "must have the form", id="one-slash"),
    pytest.param("b12/x", "must have the form", id="no-scheme"),
    pytest.param("oss://b12", "must have the form", id="no-slash-after-bucket"),
    pytest.param("oss://bucket.oss-cn-hangzhou.aliyuncs.com/test-object/test.docx",
                 "looks like an endpoint host", id="endpoint-in-bucket"),
    pytest.param("oss://my.bucket/x", "looks like an endpoint host", id="dot-in-bucket"),
    pytest.param("oss://ab/x", "3-63 characters", id="bucket-2-chars"),
    pytest.param("oss://" + "a" * 64 + "/x", "3-63 characters", id="bucket-64-chars"),
    pytest.param("oss://Examplebucket1/x", "3-63 characters", id="bucket-upper-case"),
    pytest.param("oss://test_bucket_2021/x", "3-63 characters", id="bucket-underscore"),
    pytest.param("oss://aliyun-oss-bucket-/x", "3-63 characters", id="bucket-trailing-hyphen"),
    pytest.param("oss://-bucket/x", "3-63 characters", id="bucket-leading-hyphen"),
    pytest.param("oss:///x", "3-63 characters", id="bucket-empty"),
    pytest.param("oss://b12/", "the object key is empty", id="key-empty"),
    pytest.param("oss://b12//x", "must not start with '/'", id="key-leading-slash"),
    pytest.param("oss://b12/\\x", "must not start with '/'", id="key-leading-backslash"),
    pytest.param("oss://b12/a\x00b", "control characters", id="key-nul"),
    pytest.param("oss://b12/a\nb", "control characters", id="key-newline"),
    pytest.param("oss://b12/a\x1fb", "control characters", id="key-unit-separator"),
    pytest.param("oss://b12/a\x7fb", "control characters", id="key-del"),
    pytest.param("oss://b12/.", "'.' or '..'", id="key-dot"),
    pytest.param("oss://b12/..", "'.' or '..'", id="key-dotdot"),
    pytest.param("oss://b12/a/../b", "'.' or '..'", id="key-dotdot-segment"),
    pytest.param("oss://b12/a/./b", "'.' or '..'", id="key-dot-segment"),
    pytest.param("oss://b12/../../etc/passwd", "'.' or '..'", id="key-escape"),
    pytest.param("oss://b12/a/..", "'.' or '..'", id="key-trailing-dotdot"),
    pytest.param("oss://b12/" + "k" * 1024, "longer than 1023 bytes", id="key-1024-bytes"),
    pytest.param("oss://b12/" + "测" * 342, "longer than 1023 bytes", id="key-1026-utf8-bytes"),
    pytest.param("oss://b12/dir/", "names a directory", id="key-trailing-slash"),
]  # fmt: skip


@pytest.mark.parametrize(("uri", "fragment"), INVALID_OBJECTS)
def test_parse_object_refuses(uri: str, fragment: str) -> None:
    with pytest.raises(InvalidValue) as err:
        uris.parse_object(uri, "SourceURI")
    assert err.value.code == "InvalidArgument"
    assert refusal(err.value).status == 400  # as the API answers it
    assert err.value.message.startswith("The parameter SourceURI is invalid: ")
    assert fragment in err.value.message


def test_refusal_message_hides_control_characters() -> None:
    with pytest.raises(InvalidValue) as err:
        uris.parse_object("http://x\x00y/z", "SourceURI")
    assert "\x00" not in err.value.message
    assert "x?y" in err.value.message


def test_refusal_message_is_bounded() -> None:
    with pytest.raises(InvalidValue) as err:
        uris.parse_object("x" * 5000, "SourceURI")
    assert len(err.value.message) < 400


# --- prefixes ----------------------------------------------------------------------------

PREFIXES = [
    # (uri, bucket, normalised key)
    pytest.param("oss://b12/out/", "b12", "out/", id="with-slash"),
    pytest.param("oss://b12/out", "b12", "out/", id="slash-added"),
    pytest.param("oss://b12/a/b/c", "b12", "a/b/c/", id="deep"),
    pytest.param("oss://b12/", "b12", "", id="bucket-root"),
    pytest.param("oss://b12/测试 目录", "b12", "测试 目录/", id="chinese-and-space"),
    pytest.param("oss://b12/out{x}", "b12", "out{x}/", id="braces-are-plain-text"),
]  # fmt: skip


@pytest.mark.parametrize(("uri", "bucket", "key"), PREFIXES)
def test_parse_prefix_normalises_trailing_slash(uri: str, bucket: str, key: str) -> None:
    prefix = uris.parse_prefix(uri, "TargetURIPrefix")
    assert (prefix.bucket, prefix.key) == (bucket, key)


INVALID_PREFIXES = [
    pytest.param("oss://b12", "must have the form", id="no-slash"),
    pytest.param("oss://b12//out/", "must not start with '/'", id="leading-slash"),
    pytest.param("oss://b12/a/../", "'.' or '..'", id="dotdot"),
    pytest.param("oss://b12/a\x00/", "control characters", id="nul"),
    pytest.param("oss://B12/out/", "3-63 characters", id="bad-bucket"),
    pytest.param("oss://b.oss-cn-hangzhou.aliyuncs.com/out/", "endpoint host", id="endpoint"),
    pytest.param("http://b12/out/", "must have the form", id="http"),
]  # fmt: skip


@pytest.mark.parametrize(("uri", "fragment"), INVALID_PREFIXES)
def test_parse_prefix_refuses(uri: str, fragment: str) -> None:
    with pytest.raises(InvalidValue) as err:
        uris.parse_prefix(uri, "TargetURIPrefix")
    assert err.value.code == "InvalidArgument"
    assert "TargetURIPrefix" in err.value.message
    assert fragment in err.value.message


# --- name parts --------------------------------------------------------------------------

PARTS = [
    # (key, dirname, basename, barename, ext)
    pytest.param("path1/path2/name.png", "path1/path2", "name.png", "name", "png",
                 id="doc-example"),
    pytest.param("name.png", "", "name.png", "name", "png", id="root-level"),
    pytest.param("d/a.tar.gz", "d", "a.tar.gz", "a.tar", "gz", id="double-extension"),
    pytest.param("d/noext", "d", "noext", "noext", "", id="no-extension"),
    pytest.param("d/.hidden", "d", ".hidden", ".hidden", "", id="dotfile-has-no-extension"),
    pytest.param("d/.hidden.txt", "d", ".hidden.txt", ".hidden", "txt", id="dotfile-with-ext"),
    pytest.param("d/Report.DOCX", "d", "Report.DOCX", "Report", "docx", id="ext-lower-cased"),
    pytest.param("d/file.", "d", "file.", "file", "", id="trailing-dot"),
    pytest.param("目录/测试 file.docx", "目录", "测试 file.docx", "测试 file", "docx",
                 id="chinese"),
]  # fmt: skip


@pytest.mark.parametrize(("key", "dirname", "basename", "barename", "ext"), PARTS)
def test_name_parts(key: str, dirname: str, basename: str, barename: str, ext: str) -> None:
    uri = uris.OssUri("b12", key)
    assert uri.dirname == dirname
    assert uri.basename == basename
    assert uri.barename == barename
    assert uri.ext == ext


# --- helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        pytest.param("a//b", "a/b", id="double"),
        pytest.param("a///b//c", "a/b/c", id="several"),
        pytest.param("/a", "a", id="leading"),
        pytest.param("//a//", "a/", id="leading-and-trailing"),
        pytest.param("a/b", "a/b", id="unchanged"),
    ],
)
def test_normalise_rendered_key(key: str, expected: str) -> None:
    assert uris.normalise_rendered_key(key) == expected


@pytest.mark.parametrize(
    ("key", "allow_empty", "expected"),
    [
        pytest.param("", True, None, id="empty-prefix-ok"),
        pytest.param("", False, "the object key is empty", id="empty-object"),
        pytest.param("a/b", False, None, id="plain"),
    ],
)
def test_key_problem(key: str, allow_empty: bool, expected: str | None) -> None:
    assert uris.key_problem(key, allow_empty=allow_empty) == expected


@pytest.mark.parametrize(
    ("bucket", "ok"),
    [("abc", True), ("ab", False), ("a.b.c", False), ("abc-", False), ("a--b", True)],
)
def test_bucket_problem(bucket: str, ok: bool) -> None:
    assert (uris.bucket_problem(bucket) is None) is ok
