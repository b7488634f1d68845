"""RTF fields that include other files are made inert (workers/soffice/rtf_fields.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workers.soffice.rtf_fields import instruction_text, neutralise

PULLING = [
    # (RTF, what must not survive)
    pytest.param(rb'{\rtf1 a{\field{\*\fldinst INCLUDEPICTURE "/etc/x.png" \\d}{\fldrslt r}}}',
                 b"/etc/x.png", id="includepicture"),
    pytest.param(rb'{\rtf1 {\field{\*\fldinst includepicture "file:///x.png"}{\fldrslt }}}',
                 b"file:///x.png", id="lower-case-file-url"),
    pytest.param(rb"{\rtf1 {\field{\*\fldinst \'49NCLUDEPICTURE " + b'"/x.png"}{\\fldrslt }}}',
                 b"/x.png", id="hex-escaped"),
    pytest.param(rb'{\rtf1 {\field{\*\fldinst {INCLUDE}{PICTURE} "/x.png"}{\fldrslt }}}',
                 b"/x.png", id="split-in-groups"),
    pytest.param(rb'{\rtf1 {\field{\*\fldinst \u73?NCLUDEPICTURE "/x.png"}{\fldrslt }}}',
                 b"/x.png", id="unicode-escape"),
    pytest.param(rb'{\rtf1 {\field{\*\fldinst INCLUDETEXT "/etc/passwd"}{\fldrslt }}}',
                 b"/etc/passwd", id="includetext"),
    pytest.param(rb'{\rtf1 {\field{\fldinst LINK Excel.Sheet "/x.xls" ""}{\fldrslt }}}',
                 b"/x.xls", id="link-without-star"),
    pytest.param(rb'{\rtf1 {\field{\*\fldinst DDEAUTO cmd "/c calc"}{\fldrslt }}}',
                 b"calc", id="ddeauto"),
    pytest.param(rb'{\rtf1 {\field{\*\fldinst {\b INCLUDEPICTURE} "a\}b.png"}{\fldrslt }}}',
                 b"b.png", id="escaped-brace-inside"),
]  # fmt: skip


@pytest.mark.parametrize(("rtf", "gone"), PULLING)
def test_pulling_fields_are_emptied(rtf: bytes, gone: bytes) -> None:
    out, count = neutralise(rtf)
    assert count == 1
    assert gone not in out
    assert out.count(b"{") == out.count(b"}") or b"\\}" in rtf  # still balanced
    assert b"\\fldrslt" in out  # the cached result is kept


KEPT = [
    rb'{\rtf1 {\field{\*\fldinst HYPERLINK "http://example.com/"}{\fldrslt link}}}',
    rb"{\rtf1 {\field{\*\fldinst PAGE}{\fldrslt 1}}}",
    rb"{\rtf1 {\field{\*\fldinstx INCLUDEPICTURE}{\fldrslt 1}}}",  # another control word
    rb"{\rtf1 plain text INCLUDEPICTURE outside any field}",
    rb"{\rtf1 {\pict\pngblip\bin4 {{{{}}",  # \bin data with braces, no field
]


@pytest.mark.parametrize("rtf", KEPT)
def test_other_fields_are_kept(rtf: bytes) -> None:
    assert neutralise(rtf) == (rtf, 0)


def test_instruction_text_decodes_escapes() -> None:
    assert instruction_text(rb"\'49NCLUDE{PIC}TURE \u80?ATH") == "INCLUDEPICTURE PATH"


@given(st.binary(max_size=300))
def test_any_bytes_come_back_no_longer(data: bytes) -> None:
    out, count = neutralise(b"{\\rtf1{\\field{\\*\\fldinst " + data + b"}}}")
    assert len(out) <= len(data) + 40
    assert count in (0, 1)
