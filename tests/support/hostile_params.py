"""Hypothesis strategies for hostile input, shared by the parser and the API tests."""

from __future__ import annotations

import re

import pytest
from hypothesis import strategies as st

from imm_engine.api.params import MAX_JSON_DEPTH

BUCKET_RULE = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", re.ASCII)

#: Pieces attackers use, mixed with arbitrary text by the strategies below.
HOSTILE = [
    ".", "..", "", "/", "//", "\\", "..\\", "%2e%2e", "%2E%2E", "%2f", "%00", "%252e",
    "\x00", "\n", "\r", "\t", "\x1f", "\x7f", "\x85", "\x9f", "\u2028", "\u202e", "\ufeff",
    "．．", "\u2024\u2024", "\u2025", "／", "＼", "\ud800", "\udfff",
    "{", "}", "{{", "}}", "{index}", "{tags.t}", "oss://", "oss://bkt/", "a", "x.docx",
    "測試", " ", "~", "?", "#", ":", "١",
]  # fmt: skip
pieces = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=6))
hostile_text = st.lists(pieces, max_size=12).map("".join)
long_text = st.integers(1000, 1100).map(lambda n: "k" * n)
buckets = st.one_of(
    st.sampled_from(["bkt", "corpus-bkt", "a" * 63, "a" * 64, "abc\n", "abc\r\n", "Abc", "a.b",
                     "ab", "-ab", "ab-", "ａbc", "abc\x00", "bkt/..", ""]),
    st.from_regex(BUCKET_RULE, fullmatch=True),
    hostile_text,
)  # fmt: skip
uri_like = st.one_of(
    st.builds(lambda b, k: f"oss://{b}/{k}", buckets, st.one_of(hostile_text, long_text)),
    hostile_text,
)

#: A valid CreateOfficeConversionTask, which the strategies below spoil.
VALID = {
    "ProjectName": "test-project",
    "SourceURI": "oss://bkt/dir/report.docx",
    "TargetType": "png",
    "TargetURI": "oss://bkt/out/{barename}/{index}.{autoext}",
}
NAMES = [
    *VALID, "TargetURIPrefix", "SourceType", "Pages", "StartPage", "EndPage", "ImageDPI",
    "Quality", "ScalePercentage", "Password", "LongText", "HoldLineFeed", "Tags", "UserData",
    "Notification", "NotifyTopicName", "CredentialConfig", "TrimPolicy", "Sources",
    "LongPicture", "Unknown", "Action", "Signature",
]  # fmt: skip
VALUES = [
    "", "true", "False", "maybe", "1", "-1", "0", "96", "600", "601", "1.5", "1e3", "1-3",
    "3-1", "1,2,999999", "png", "pdf", "txt", "gif", "docx", "oss://bkt/x/", "oss://bkt/{index}",
    "oss://bkt/{tags.t}/{index}.png", '{"t":"../.."}', '{"t":"{index}"}', '{"t":"ok"}',
    '{"MNS":{"TopicName":"nope"}}', '{"MNS":"x"}', '{"a":NaN}', '["x"]', "[" * 3000,
    '{"a":"\\ud800"}', '[{"x":' * 30 + "1" + "}]" * 30, "x" * 5000,
]  # fmt: skip
param_maps = st.builds(
    lambda drop, over: {**{k: v for k, v in VALID.items() if k not in drop}, **over},
    st.sets(st.sampled_from(list(VALID)), max_size=1),  # mostly nothing missing
    st.dictionaries(
        st.one_of(st.sampled_from(NAMES), st.text(max_size=8)),
        st.one_of(st.sampled_from(VALUES), hostile_text),
        max_size=4,
    ),
)


# --- hand-made hostile parameters of CreateOfficeConversionTask ---------------------------
# Run in-process (tests/integration/test_api_hostile.py) and against a real server
# (tests/e2e/test_hostile.py). Changes apply to a valid request; None removes a parameter.

deep = '{"a":' * (MAX_JSON_DEPTH + 1) + "1" + "}" * (MAX_JSON_DEPTH + 1)
PARAMETERS = [
    # (changes to a valid request, Code, a fragment of the Message)
    pytest.param({"SourceURI": None}, "MissingSourceURI", "SourceURI", id="missing-source"),
    pytest.param({"ProjectName": ""}, "MissingProjectName", "ProjectName", id="empty-project"),
    pytest.param({"ProjectName": "p\n"}, "InvalidArgument", "ProjectName",
                 id="project-trailing-newline"),
    pytest.param({"Tags": "{not json"}, "InvalidJSON", "Tags", id="tags-not-json"),
    pytest.param({"Tags": '{"a":NaN}'}, "InvalidJSON", "Tags", id="tags-nan"),
    pytest.param({"Tags": deep}, "InvalidArgument", "nested more than", id="tags-deep"),
    pytest.param({"Notification": "[" * 2000}, "InvalidArgument", "nested more than",
                 id="notification-very-deep"),
    pytest.param({"Tags": '{"a":"\\ud800"}'}, "InvalidArgument", "surrogate",
                 id="tags-surrogate"),
    pytest.param({"Notification": '{"MNS":{"TopicName":"\\udfff"}}'}, "InvalidArgument",
                 "surrogate", id="topic-surrogate"),
    pytest.param({"Tags": "[1]"}, "InvalidArgument", "JSON object", id="tags-array"),
    # URIs: spec section 5, and what would escape the bucket
    pytest.param({"SourceURI": "oss://bkt/a/../../x.docx"}, "InvalidArgument", "'..'",
                 id="source-dotdot"),
    pytest.param({"SourceURI": "oss://bkt/./x.docx"}, "InvalidArgument", "'.'",
                 id="source-dot"),
    pytest.param({"SourceURI": "oss://bkt//x.docx"}, "InvalidArgument", "start with '/'",
                 id="source-double-slash"),
    pytest.param({"SourceURI": "oss://bkt/\\x.docx"}, "InvalidArgument", "start with",
                 id="source-leading-backslash"),
    pytest.param({"SourceURI": "oss://bkt/a\x00.docx"}, "InvalidArgument", "control",
                 id="source-nul"),
    pytest.param({"SourceURI": "oss://bkt/a\x85.docx"}, "InvalidArgument", "control",
                 id="source-c1-control"),
    pytest.param({"SourceURI": "oss://bkt\n/x.docx"}, "InvalidArgument", "3-63",
                 id="bucket-trailing-newline"),
    pytest.param({"SourceURI": "oss://ｂkt/x.docx"}, "InvalidArgument", "3-63",
                 id="bucket-full-width"),
    pytest.param({"SourceURI": "oss://BKT/x.docx"}, "InvalidArgument", "3-63", id="bucket-upper"),
    pytest.param({"SourceURI": "oss://bkt/" + "k" * 1024 + ".docx"}, "InvalidArgument",
                 "1023 bytes", id="key-too-long"),
    pytest.param({"SourceURI": "oss://bkt/" + "k" * 3000}, "InvalidArgument", "2048 bytes",
                 id="uri-too-long"),
    # templates
    pytest.param({"TargetURI": "oss://bkt/{dirname}/../{index}.png"}, "InvalidArgument", "'..'",
                 id="template-dotdot"),
    pytest.param({"TargetURI": "oss://bkt/{tags.x}/{index}.png", "Tags": '{"x":"/../.."}'},
                 "InvalidArgument", "'..'", id="tag-climbs"),
    pytest.param({"TargetURI": "oss://{tags.x}/{index}.png", "Tags": '{"x":"bkt/../../etc"}'},
                 "InvalidArgument", "'..'", id="tag-in-bucket-slot"),
    pytest.param({"TargetURI": "oss://bkt/{nosuch}/{index}.png"}, "InvalidArgument",
                 "unknown template variable", id="unknown-placeholder"),
    pytest.param({"TargetURI": "oss://bkt/{index.__class__}.png"}, "InvalidArgument",
                 "not a template variable", id="attribute-access"),
    pytest.param({"TargetURI": "oss://bkt/{index!r}.png"}, "InvalidArgument",
                 "not a template variable", id="conversion"),
    pytest.param({"TargetURI": "oss://bkt/{index.png"}, "InvalidArgument", "never closed",
                 id="unclosed-brace"),
    pytest.param({"TargetURI": "oss://bkt/index}.png"}, "InvalidArgument", "single '}'",
                 id="stray-brace"),
    pytest.param({"TargetURI": "oss://bkt/{tags.{index}}.png"}, "InvalidArgument", "names no tag",
                 id="nested-placeholder"),
    pytest.param({"TargetURI": "oss://bkt/{tags.x}.png", "Tags": '{"y":"1"}'},
                 "InvalidArgument", "Tags has no such key", id="absent-tag"),
    pytest.param({"TargetURIPrefix": "oss://bkt/../", "TargetURI": None}, "InvalidArgument",
                 "'..'", id="prefix-dotdot"),
    pytest.param({"TargetURIPrefix": "oss://bkt//", "TargetURI": None}, "InvalidArgument",
                 "start with '/'", id="prefix-double-slash"),
    pytest.param({"TargetURIPrefix": "oss://bkt/a\x00/", "TargetURI": None}, "InvalidArgument",
                 "control", id="prefix-nul"),
    pytest.param({"TargetURIPrefix": "oss://bkt/p/"}, "InvalidArgument", "not both",
                 id="prefix-and-uri"),
    pytest.param({"TargetURIPrefix": "oss://bkt/" + "p" * 1020 + "/", "TargetURI": None},
                 "InvalidArgument", "1023 bytes", id="prefix-leaves-no-room-for-names"),
    # numbers
    pytest.param({"ImageDPI": "9" * 40}, "InvalidArgument", "ImageDPI", id="dpi-huge"),
    pytest.param({"ImageDPI": "1000000"}, "InvalidArgument", "96 to 600", id="dpi-large"),
    pytest.param({"ImageDPI": "-96"}, "InvalidArgument", "ImageDPI", id="dpi-negative"),
    pytest.param({"ImageDPI": "96.0"}, "InvalidArgument", "not an integer", id="dpi-float"),
    pytest.param({"ImageDPI": "1e2"}, "InvalidArgument", "not an integer", id="dpi-exponent"),
    pytest.param({"ImageDPI": "1_00"}, "InvalidArgument", "not an integer", id="dpi-underscore"),
    pytest.param({"ImageDPI": "٩٦"}, "InvalidArgument", "not an integer", id="dpi-arabic-digits"),
    pytest.param({"Quality": "NaN"}, "InvalidArgument", "not an integer", id="quality-nan"),
    pytest.param({"Pages": "1-1000001"}, "InvalidArgument", "above 1000000", id="pages-millions"),
    pytest.param({"Pages": "1-" + "9" * 400}, "InvalidArgument", "above", id="pages-absurd"),
    pytest.param({"Pages": "1," * 1001 + "1"}, "InvalidArgument", "more than 1000 ranges",
                 id="pages-too-many-ranges"),
    pytest.param({"Pages": "-3"}, "InvalidArgument", "Pages", id="pages-negative"),
    pytest.param({"Pages": "0"}, "InvalidArgument", "start at 1", id="pages-zero"),
    pytest.param({"Pages": "1.5"}, "InvalidArgument", "Pages", id="pages-float"),
    pytest.param({"Pages": "١-٣"}, "InvalidArgument", "Pages", id="pages-arabic-digits"),
    pytest.param({"StartPage": "0"}, "InvalidArgument", "StartPage", id="start-zero"),
    pytest.param({"StartPage": "2000000"}, "InvalidArgument", "StartPage", id="start-huge"),
    pytest.param({"EndPage": "-2"}, "InvalidArgument", "EndPage", id="end-negative"),
    pytest.param({"StartPage": "1.0"}, "InvalidArgument", "not an integer", id="start-float"),
]  # fmt: skip


ACCEPTED = [
    # hostile-looking, but valid: stored as given, never interpreted
    pytest.param({"SourceURI": "oss://bkt/%2e%2e/x.docx"}, id="percent-literal"),
    pytest.param({"SourceURI": "oss://bkt/a\\..\\b.docx"}, id="backslashes-inside"),
    pytest.param({"SourceURI": "oss://bkt/．．/x.docx"}, id="full-width-dots"),
    pytest.param({"TargetURI": "oss://bkt/{tags.x}/{index}.png", "Tags": '{"x":"{index}"}'},
                 id="tag-with-placeholder-stays-literal"),
    pytest.param({"TargetURI": "oss://bkt/{tags.x}/{index}.png", "Tags": '{"x":"a{b"}'},
                 id="tag-with-brace"),
    pytest.param({"TargetURIPrefix": "oss://bkt/{index}/", "TargetURI": None},
                 id="braces-in-prefix-are-literal"),
    pytest.param({"Pages": "1-1000000", "EndPage": "-1"}, id="pages-a-million"),
    pytest.param({"StartPage": "+1", "EndPage": "-1"}, id="signed-integers"),
    pytest.param({"ImageDPI": " 600 "}, id="blank-around-integer"),
    pytest.param({"Unknown": "[" * 3000}, id="unknown-parameter-deep-json"),
    pytest.param({"Unknown": '{"a":"\\ud800"}'}, id="unknown-parameter-surrogate"),
]  # fmt: skip
