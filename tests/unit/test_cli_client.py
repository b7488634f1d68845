"""Pure parts of the people's CLI (imm_engine/client): argument parsing, the CLI route,
table rows and the JSON summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imm_engine.client import cli_route, summary, tasks_table
from imm_engine.client.args import (
    UsageError,
    check_pages,
    iso_utc,
    parse_endpoint,
    parse_since,
    parse_tag,
    tag_selector,
)
from imm_engine.client.inputs import Input, collect, slot_names
from imm_engine.client.state import Output, TaskState
from imm_engine.client.stream import event_content
from imm_engine.notify.routes import parse_routes
from imm_engine.state.query import build_query

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", NOW - 90),
        ("15m", NOW - 900),
        ("1h", NOW - 3600),
        (" 2D ", NOW - 2 * 86400),
        ("1w", NOW - 7 * 86400),
        ("1.5h", NOW - 5400),
        ("2023-11-14T22:00:00Z", NOW - 800),
        ("2023-11-14T22:00:00", NOW - 800),
        ("2023-11-15T06:00:00+08:00", NOW - 800),
    ],
)
def test_since(text: str, expected: float) -> None:
    assert parse_since(text, NOW) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "1y", "yesterday", "-1h", "2023-13-01T00:00:00Z"])
def test_since_refused(text: str) -> None:
    with pytest.raises(UsageError, match="--since"):
        parse_since(text, NOW)


def test_iso_utc() -> None:
    assert iso_utc(NOW) == "2023-11-14T22:13:20Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("k=v", ("k", "v")), ("k=", ("k", "")), ("a=b=c", ("a", "b=c")), (" k =v", ("k", "v"))],
)
def test_tag(text: str, expected: tuple[str, str]) -> None:
    assert parse_tag(text) == expected


@pytest.mark.parametrize("text", ["k", "=v", " =v"])
def test_tag_refused(text: str) -> None:
    with pytest.raises(UsageError, match="key=value"):
        parse_tag(text)


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ([("env", "prod")], "env=prod"),
        ([("a", "1"), ("b", "x y")], 'a=1,b="x y"'),
        ([("k,1", 'say "hi"')], '"k,1"="say \\"hi\\""'),
        ([("k", "")], 'k=""'),
    ],
)
def test_tag_selector(tags: list[tuple[str, str]], expected: str) -> None:
    assert tag_selector(tags) == expected


def test_tag_selector_is_what_the_api_parses() -> None:
    """The selector the CLI builds means, for the API, exactly the tags given."""
    tags = [("k,1", 'say "hi"'), ("env", "prod"), ("e", "")]
    query = build_query(
        task_types=None, status=None, start_range=None, end_range=None,
        tag_selector=tag_selector(tags), sort=None, order=None, max_results=None,
        next_token=None, with_definition=False,
    )  # fmt: skip
    assert query.matches("T", "Running", 0, 0, {"k,1": 'say "hi"', "env": "prod", "e": ""})
    assert not query.matches("T", "Running", 0, 0, {"k,1": "say hi", "env": "prod", "e": ""})


@pytest.mark.parametrize(("text", "expected"), [("1-3", "1-3"), ("1, 3-5", "1,3-5"), ("2", "2")])
def test_pages(text: str, expected: str) -> None:
    assert check_pages(text) == expected


@pytest.mark.parametrize("text", ["a", "3-1", "0", "1-2-3"])
def test_pages_refused(text: str) -> None:
    with pytest.raises(UsageError, match="--pages"):
        check_pages(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:8080", "127.0.0.1:8080"),
        ("http://localhost:9000/", "localhost:9000"),
        ("[::1]:80", "[::1]:80"),
    ],
)
def test_endpoint(text: str, expected: str) -> None:
    assert parse_endpoint(text) == expected


@pytest.mark.parametrize("text", ["localhost", ":80", "h:0", "h:99999", "h:x"])
def test_endpoint_refused(text: str) -> None:
    with pytest.raises(UsageError, match="host:port"):
        parse_endpoint(text)


# --- the CLI's notification route ---


def test_default_route_added_to_user_topics() -> None:
    inline = json.dumps({"other": {"type": "webhook", "url": "https://example.com/h"}})
    routes = parse_routes(json.loads(inline))
    value = cli_route.topics_with_cli_route(inline, routes, "redis://r:6379/0", "pfx")
    assert value is not None
    topics = json.loads(value)
    assert set(topics) == {"other", "imm-engine-cli"}
    assert topics["imm-engine-cli"]["stream"] == "pfx:cli:events"
    merged = parse_routes(topics)
    assert cli_route.stream_of(merged) == cli_route.CliStream("redis://r:6379/0", "pfx:cli:events")
    assert cli_route.effective_stream(routes, "redis://r:6379/0", "pfx") == cli_route.stream_of(
        merged
    )


@pytest.mark.parametrize("key", ["imm-engine-cli", "mns:imm-engine-cli"])
def test_user_route_wins(key: str) -> None:
    routes = parse_routes({key: {"type": "redis_stream", "url": "redis://u:1/2", "stream": "s"}})
    assert cli_route.topics_with_cli_route(None, routes, "redis://r/0", "p") is None
    assert cli_route.effective_stream(routes, "redis://r/0", "p") == cli_route.CliStream(
        "redis://u:1/2", "s"
    )


def test_user_route_elsewhere_means_polling() -> None:
    routes = parse_routes({"imm-engine-cli": {"type": "webhook", "url": "https://e.com/h"}})
    assert cli_route.effective_stream(routes, "redis://r/0", "p") is None


def test_no_redis_no_stream() -> None:
    assert cli_route.effective_stream(parse_routes({}), "", "p") is None


def test_runtime_file_round_trip(tmp_path: Path) -> None:
    stream = cli_route.CliStream("redis://127.0.0.1:1/0", "imm:cli:events")
    cli_route.write_runtime(tmp_path / "d", cli_route.runtime_document("h:1", stream))
    doc = cli_route.read_runtime(tmp_path / "d")
    assert doc["endpoint"] == "h:1"
    assert cli_route.stream_from_document(doc) == stream
    assert cli_route.read_runtime(tmp_path / "absent") == {}
    assert cli_route.stream_from_document({"stream": {"url": "", "stream": "s"}}) is None


@pytest.mark.parametrize(
    ("message", "task_id"),
    [
        (json.dumps({"id": "e", "content": json.dumps({"TaskId": "T1"})}), "T1"),
        (  # wrap: mns-json
            json.dumps({"Message": json.dumps({"content": json.dumps({"TaskId": "T2"})})}),
            "T2",
        ),
        ("not json", None),
        (json.dumps({"content": "{}"}), None),
    ],
)
def test_event_content(message: str, task_id: str | None) -> None:
    content = event_content(message)
    assert (content or {}).get("TaskId") == task_id


# --- inputs ---


def test_collect_folder_skips_hidden(tmp_path: Path) -> None:
    (tmp_path / "b.docx").write_bytes(b"x")
    (tmp_path / "a.pdf").write_bytes(b"x")
    (tmp_path / ".hidden.docx").write_bytes(b"x")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "c.pptx").write_bytes(b"x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "d.docx").write_bytes(b"x")
    flat = collect([str(tmp_path)], recursive=False)
    assert [i.name for i in flat] == ["a.pdf", "b.docx"]
    deep = collect([str(tmp_path), "oss://bkt/x/y.docx"], recursive=True)
    assert [i.name for i in deep] == ["a.pdf", "b.docx", "c.pptx", "y.docx"]
    assert deep[-1].path is None and deep[-1].uri == "oss://bkt/x/y.docx"


@pytest.mark.parametrize("arg", ["/nonexistent/file.docx", "oss://b/"])
def test_collect_refused(arg: str) -> None:
    with pytest.raises(UsageError):
        collect([arg], recursive=False)


def test_slot_names_distinct() -> None:
    inputs = [Input("a.docx", Path("a.docx")), Input("a.pdf", Path("d/a.pdf"))]
    inputs.append(Input("oss://b/k/a b.pptx", None, "oss://b/k/a b.pptx"))
    assert slot_names(inputs) == ["a", "a-2", "a_b"]


# --- summary and tasks table ---


def test_summary_document_and_rows() -> None:
    ok = TaskState("in/a.docx", "a", task_id="T1", status="Succeeded", started=10.0)
    ok.finished, ok.completion, ok.page_count = 12.5, "notification", 2
    ok.target_prefix = "oss://b/out/r/a/"
    ok.outputs = [Output("oss://b/out/r/a/1.png", Path("/s/b/out/r/a/1.png")), Output("x")]
    bad = TaskState("b.docx", "b", task_id="T2", status="Failed", code="InvalidFile")
    bad.message, bad.completion = "not a docx", "polling"
    doc = summary.document("r", "demo", [ok, bad])
    assert (doc["succeeded"], doc["failed"], doc["completion"]) == (1, 1, "mixed")
    assert doc["results"][0]["seconds"] == 2.5
    assert doc["results"][0]["outputs"][0]["path"] == "/s/b/out/r/a/1.png"
    assert summary.row(ok)[:4] == ["in/a.docx", "Succeeded", "2", "2.5s"]
    assert summary.row(ok)[4].splitlines() == ["oss://b/out/r/a/  (2 objects)", "/s/b/out/r/a"]
    assert summary.row(bad)[4] == "InvalidFile: not a docx"
    assert summary.completion_mode([ok]) == "notification"
    assert summary.completion_mode([TaskState("x", "x")]) == "none"


def test_natural_order() -> None:
    names = ["10.png", "2.png", "1.png"]
    assert sorted(names, key=summary.natural_key) == ["1.png", "2.png", "10.png"]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2023-11-14T22:13:00Z", "2023-11-14T22:13:12.5Z", "12.5s"),
        ("2023-11-14T22:00:00Z", "2023-11-14T22:04:05Z", "4m05s"),
        ("2023-11-14T20:00:00Z", "", "2h13m"),  # running: up to now
        ("", "", ""),
        ("garbage", "", ""),
    ],
)
def test_duration(start: str, end: str, expected: str) -> None:
    assert tasks_table.duration_text(start, end, NOW) == expected


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ('{"SourceURI": "oss://b/a.docx"}', "oss://b/a.docx"),
        ({"Sources": [{"URI": "oss://b/1.png"}]}, "oss://b/1.png"),
        ('{"Sources": "[{\\"URI\\": \\"oss://b/2.png\\"}]"}', "oss://b/2.png"),
        ("not json", ""),
        (None, ""),
    ],
)
def test_first_source(definition: object, expected: str) -> None:
    assert tasks_table.first_source(definition) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oss://b/short.docx", "oss://b/short.docx"),
        ("oss://bkt/" + "d" * 50 + "/name.docx", "oss://bkt/…" + ("d" * 50 + "/name.docx")[-29:]),
        ("x" * 50, "…" + "x" * 39),
    ],
)
def test_shorten(text: str, expected: str) -> None:
    assert tasks_table.shorten(text) == expected
    assert len(tasks_table.shorten(text)) <= 40


def test_task_row() -> None:
    task = {
        "TaskId": "OfficeConversion-1", "TaskType": "OfficeConversion", "Status": "Failed",
        "Progress": 10, "StartTime": "2023-11-14T22:13:00Z", "EndTime": "2023-11-14T22:13:01Z",
        "Code": "InvalidFile", "TaskRequestDefinition": '{"SourceURI": "oss://b/a.docx"}',
    }  # fmt: skip
    assert tasks_table.row(task, NOW) == [
        "OfficeConversion-1", "OfficeConversion", "Failed", "10%", "2023-11-14 22:13:00",
        "1.0s", "InvalidFile", "oss://b/a.docx",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("task_id", "kind"),
    [("OfficeConversion-abc-1", "OfficeConversion"), ("abc", ""), ("1-2", "")],
)
def test_task_type_of(task_id: str, kind: str) -> None:
    assert tasks_table.task_type_of(task_id) == kind
