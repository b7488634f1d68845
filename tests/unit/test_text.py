"""Text output flow (workers/processors/text.py)."""

from __future__ import annotations

import pytest

from workers.processors.text import flow

JOINED = [
    # (page text, flowed with HoldLineFeed=false)
    pytest.param("Hello\nworld", "Hello world\n", id="latin-joined-with-space"),
    pytest.param("  Hello  \n  world  ", "Hello world\n", id="lines-stripped"),
    pytest.param("你好\n世界", "你好世界\n", id="cjk-joined-without-space"),
    pytest.param("日本語の\nテキスト", "日本語のテキスト\n", id="japanese"),
    pytest.param("句子结束。\n下一句", "句子结束。下一句\n", id="fullwidth-punctuation"),
    pytest.param("你好\nworld", "你好 world\n", id="cjk-then-latin-space"),
    pytest.param("hello\n世界", "hello 世界\n", id="latin-then-cjk-space"),
    pytest.param("one\ntwo\nthree", "one two three\n", id="three-lines"),
    pytest.param("para one\nline two\n\npara two", "para one line two\npara two\n",
                 id="paragraph-break-is-one-line-feed"),
    pytest.param("a\n\n\n\nb", "a\nb\n", id="several-blank-lines"),
    pytest.param("a\n   \t\nb", "a\nb\n", id="whitespace-only-line-is-a-break"),
    pytest.param("第一段\n继续\n\n第二段", "第一段继续\n第二段\n", id="cjk-paragraphs"),
    pytest.param("a\r\nb\rc", "a b c\n", id="crlf-and-cr"),
    pytest.param("a\r\n\r\nb", "a\nb\n", id="crlf-paragraph"),
    pytest.param("\n\nstart\n", "start\n", id="leading-and-trailing-blank"),
    pytest.param("", "", id="empty"),
    pytest.param(" \n \n", "", id="blank"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), JOINED)
def test_flow_joins_lines(text: str, expected: str) -> None:
    assert flow(text, hold_line_feed=False) == expected


HELD = [
    # (page text, flowed with HoldLineFeed=true)
    pytest.param("Hello\nworld", "Hello\nworld\n", id="line-breaks-kept"),
    pytest.param("你好\n世界", "你好\n世界\n", id="cjk-kept"),
    pytest.param("a\n\nb", "a\n\nb\n", id="blank-line-kept"),
    pytest.param("\n\na\nb\n\n\n", "a\nb\n", id="outer-line-feeds-trimmed"),
    pytest.param("a\r\nb\rc", "a\nb\nc\n", id="crlf-and-cr-normalised"),
    pytest.param("  indented\n", "  indented\n", id="spaces-kept"),
    pytest.param("", "", id="empty"),
    pytest.param(" \n \n", "", id="blank"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), HELD)
def test_flow_holds_line_feeds(text: str, expected: str) -> None:
    assert flow(text, hold_line_feed=True) == expected


@pytest.mark.parametrize("hold", [True, False])
def test_output_ends_with_exactly_one_line_feed(hold: bool) -> None:
    out = flow("x\ny\n\n\n", hold_line_feed=hold)
    assert out.endswith("\n")
    assert not out.endswith("\n\n")
