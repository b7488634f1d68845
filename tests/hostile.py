"""Hypothesis strategies for hostile input, shared by the parser and the API tests."""

from __future__ import annotations

import re

from hypothesis import strategies as st

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
