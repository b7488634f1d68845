"""`imm-engine convert` and `imm-engine tasks` as a user runs them: subprocesses against a
real service, waiting for the completion notification on the CLI's Redis stream."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pymupdf
import pytest

from tests.support.e2e_service import REDIS_URL
from tests.support.service import ACCESS_KEY_ID, ACCESS_KEY_SECRET, TEST_PROJECT, Service, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.redis, pytest.mark.soffice]

EXE = str(Path(sys.executable).parent / "imm-engine")
DOCUMENTS = ("fake.docx", "fake-power-point.pptx", "multi-column-2p.pdf")


def cli_env(service: Service, port: int | None = None) -> dict[str, str]:
    """What a user's shell next to `imm-engine up` has: the same data dir and keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMM_")}
    env.update(
        {
            "IMM_API_PORT": str(port or service.port),
            "IMM_DATA_DIR": str(service.data_dir),
            "IMM_STORAGE_ROOT": str(service.storage),
            "IMM_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "IMM_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
        }
    )
    return env


def imm(
    service: Service, *args: str, port: int | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *args],
        env=cli_env(service, port),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def summary_of(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    try:
        doc: dict[str, Any] = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"not JSON: {proc.stdout!r} / {proc.stderr!r}") from None
    return doc


@pytest.fixture(scope="module")
def converted(service: Service, corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Three documents of a folder converted to PNG, once as a table and once as JSON."""
    folder = tmp_path_factory.mktemp("docs")
    for name in DOCUMENTS:
        shutil.copyfile(corpus / name, folder / name)
    (folder / ".hidden.docx").write_bytes(b"skipped")
    out = tmp_path_factory.mktemp("out")
    table = imm(service, "convert", str(folder), "--to", "png", "--project", TEST_PROJECT,
                "--out", str(out))  # fmt: skip
    out_json = tmp_path_factory.mktemp("out-json")
    as_json = imm(service, "convert", str(folder), "--to", "png", "--project", TEST_PROJECT,
                  "--out", str(out_json), "--json")  # fmt: skip
    return folder, out, table, out_json, as_json


def test_up_records_the_cli_route(service: Service) -> None:
    doc = json.loads((service.data_dir / "cli.json").read_text())
    assert doc["endpoint"] == f"127.0.0.1:{service.port}"
    assert doc["stream"] == {
        "url": REDIS_URL,
        "stream": f"{service.env['IMM_KEY_PREFIX']}:cli:events",
    }


def test_convert_folder_table(converted: Any) -> None:
    _, out, proc, _, _ = converted
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in DOCUMENTS:
        assert name in proc.stdout
    assert ".hidden" not in proc.stdout
    assert "3 of 3 succeeded (completion learnt by notification)" in proc.stdout
    assert str(out) in proc.stdout  # where the copies are
    assert "oss://imm-cli/out/" in proc.stdout
    assert "polling" not in proc.stderr
    # stderr is no terminal: plain lines, no bar animation escapes
    assert "\x1b[" not in proc.stderr
    for name in DOCUMENTS:
        assert f"{name}: Succeeded OfficeConversion-" in proc.stderr


def test_convert_folder_json(service: Service, converted: Any) -> None:
    folder, _, _, out, proc = converted
    assert proc.returncode == 0, proc.stderr
    doc = summary_of(proc)
    assert doc["completion"] == "notification"
    assert (doc["succeeded"], doc["failed"]) == (3, 0)
    results = {Path(r["input"]).name: r for r in doc["results"]}
    assert set(results) == set(DOCUMENTS)
    for name, r in results.items():
        assert r["status"] == "Succeeded" and r["completion"] == "notification"
        stem = name.rsplit(".", 1)[0]
        pngs = sorted((out / stem).glob("*.png"))
        assert r["page_count"] >= 1
        assert len(pngs) == r["page_count"] == len(r["outputs"]), name
        for png in pngs:
            pix = pymupdf.Pixmap(str(png))
            assert pix.width > 100 and pix.height > 100
        for o in r["outputs"]:
            assert o["uri"].startswith(r["target_prefix"])
            assert Path(o["path"]) == service.object(o["uri"])
            assert Path(o["path"]).read_bytes() == Path(o["copied"]).read_bytes()
        assert r["source_uri"].startswith("oss://imm-cli/uploads/")
        assert service.object(r["source_uri"]).read_bytes() == (folder / name).read_bytes()
    with pymupdf.open(folder / "multi-column-2p.pdf") as pdf:
        assert results["multi-column-2p.pdf"]["page_count"] == pdf.page_count


def test_tasks_lists_the_run(service: Service, converted: Any) -> None:
    doc = summary_of(converted[4])
    ids = {r["task_id"] for r in doc["results"]}
    tag = f"imm-cli-run={doc['run_id']}"
    listed = imm(service, "tasks", "--project", TEST_PROJECT, "--tag", tag, "--since", "1h",
                 "--json")  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    tasks = json.loads(listed.stdout)["Tasks"]
    assert {t["TaskId"] for t in tasks} == ids
    assert all(t["Status"] == "Succeeded" for t in tasks)
    table = imm(service, "tasks", "--project", TEST_PROJECT, "--tag", tag)
    assert table.returncode == 0, table.stderr
    for task_id in ids:
        assert task_id in table.stdout
    assert "multi-column-2p.pdf" in table.stdout
    none_failed = imm(service, "tasks", "--project", TEST_PROJECT, "--tag", tag, "--status",
                      "Failed", "--json")  # fmt: skip
    assert json.loads(none_failed.stdout)["Tasks"] == []
    one = imm(service, "tasks", "--project", TEST_PROJECT, "--tag", tag, "--limit", "1",
              "--json")  # fmt: skip
    assert len(json.loads(one.stdout)["Tasks"]) == 1
    shown = imm(service, "task", sorted(ids)[0], "--project", TEST_PROJECT)
    assert shown.returncode == 0, shown.stderr
    assert "Succeeded" in shown.stdout and "SourceURI" in shown.stdout


def test_damaged_document_fails_with_code(service: Service, tmp_path: Path) -> None:
    bad = tmp_path / "damaged.docx"
    bad.write_bytes(b"PK\x03\x04 this is no zip archive at all")
    proc = imm(service, "convert", str(bad), "--to", "png", "--project", TEST_PROJECT)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "damaged.docx" in proc.stdout and "Failed" in proc.stdout
    assert "InvalidFile" in proc.stdout
    as_json = imm(service, "convert", str(bad), "--to", "png", "--project", TEST_PROJECT, "--json")
    assert as_json.returncode == 1
    doc = summary_of(as_json)
    [r] = doc["results"]
    assert (r["status"], r["code"], r["completion"]) == ("Failed", "InvalidFile", "notification")
    failed = imm(service, "tasks", "--project", TEST_PROJECT, "--status", "Failed", "--tag",
                 f"imm-cli-run={doc['run_id']}", "--json")  # fmt: skip
    assert [t["TaskId"] for t in json.loads(failed.stdout)["Tasks"]] == [r["task_id"]]


def test_refused_submission_is_a_failure(service: Service, tmp_path: Path) -> None:
    """A file type the API refuses at submission: exit 1 with the API's Code."""
    odd = tmp_path / "notes.xyz"
    odd.write_text("x")
    proc = imm(service, "convert", str(odd), "--to", "png", "--project", TEST_PROJECT, "--json")
    assert proc.returncode == 1
    [r] = summary_of(proc)["results"]
    assert r["status"] == "Failed" and r["code"].startswith("InvalidArgument")
    assert r["task_id"] == ""


def test_closed_port_is_a_usage_error(service: Service, tmp_path: Path) -> None:
    doc = tmp_path / "a.docx"
    doc.write_bytes(b"x")
    proc = imm(service, "convert", str(doc), "--to", "png", port=free_port(), timeout=60)
    assert proc.returncode == 2
    assert "not reachable" in proc.stderr and "make up" in proc.stderr
    assert "Traceback" not in proc.stderr
    listed = imm(service, "tasks", port=free_port(), timeout=60)
    assert listed.returncode == 2 and "make up" in listed.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["convert", "/nonexistent.docx", "--to", "png"], "no such file"),
        (["convert", ".", "--to", "bmp"], "--to 'bmp'"),
        (["convert", ".", "--to", "png", "--pages", "x"], "--pages"),
        (["tasks", "--since", "yesterday"], "--since"),
    ],
)
def test_usage_errors(service: Service, args: list[str], needle: str) -> None:
    proc = imm(service, *args, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert needle in proc.stderr


def test_without_a_route_polls_and_says_so(service: Service, tmp_path: Path) -> None:
    """A CLI that cannot find the notification stream (no cli.json for this endpoint, no
    IMM_REDIS_URL) still finishes, by polling GetTask, and says so once on stderr."""
    pdf = pymupdf.open()
    for _ in range(2):
        pdf.new_page()
    src = tmp_path / "two.pdf"
    pdf.save(src)
    env = cli_env(service)
    env["IMM_DATA_DIR"] = str(tmp_path / "elsewhere")
    proc = subprocess.run(
        [EXE, "convert", str(src), "--to", "png", "--project", TEST_PROJECT, "--json"],
        env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("polling GetTask") == 1, proc.stderr
    doc = summary_of(proc)
    assert doc["completion"] == "polling"
    assert len(doc["results"][0]["outputs"]) == 2


def test_names_in_chinese_japanese_korean_keep_their_stem(
    service: Service, corpus: Path, tmp_path: Path
) -> None:
    """`imm-engine convert 中文报告.docx --to png` as a new user runs it: the upload keeps its
    name (it used to become `.../docx/docx`, refused for having no extension), and so do the
    output folders."""
    import unicodedata

    names = ["中文报告.docx", "データ.docx", "보고서.docx", "报告 第1版 (终稿).docx"]
    for name in names:
        shutil.copyfile(corpus / "fake.docx", tmp_path / name)
    # macOS hands over decomposed names; they are stored composed
    decomposed = unicodedata.normalize("NFD", "ダミー.docx")
    shutil.copyfile(corpus / "fake.docx", tmp_path / decomposed)
    out = tmp_path / "out"
    args = [str(tmp_path / n) for n in [*names, decomposed]]
    proc = imm(service, "convert", *args, "--to", "png", "--project", TEST_PROJECT,
               "--out", str(out), "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = summary_of(proc)["results"]
    uploaded = sorted(r["source_uri"].rsplit("/", 2)[-2:][1] for r in results)
    assert uploaded == sorted(
        ["中文报告.docx", "データ.docx", "보고서.docx", "报告_第1版_终稿.docx", "ダミー.docx"]
    )
    folders = sorted(p.name for p in out.iterdir())
    assert folders == sorted(["中文报告", "データ", "보고서", "报告_第1版_终稿", "ダミー"])
    for r in results:
        assert r["status"] == "Succeeded" and len(r["outputs"]) >= 1
