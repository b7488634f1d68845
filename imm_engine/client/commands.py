"""The client subcommands' argument parsers and their dispatch (`imm-engine convert|tasks|task`)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from imm_engine.client.args import (
    UsageError,
    check_pages,
    default_endpoint,
    parse_endpoint,
    parse_since,
    parse_tag,
)
from imm_engine.settings import Settings
from imm_engine.tasktypes.office.formats import TARGET_ALIASES, TARGET_TYPES

if TYPE_CHECKING:
    from rich.console import Console

# The SDK and rich are imported when a client command runs, not by every `imm-engine` start.

COMMANDS = ("convert", "tasks", "task")


def add_client_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    conv = sub.add_parser("convert", help="convert files or folders through the API")
    conv.add_argument("sources", nargs="+", metavar="FILE-or-FOLDER", help="files, folders, oss://")
    conv.add_argument("--to", required=True, dest="target", help="png, jpg, pdf, txt, ...")
    _common(conv)
    conv.add_argument("--pages", help="pages such as 1-3,5 (image and text targets)")
    conv.add_argument("--out", type=Path, help="copy the outputs into this folder")
    conv.add_argument("--bucket", default="imm-cli", help="bucket for uploads and outputs")
    conv.add_argument("--recursive", action="store_true", help="include files in subfolders")
    conv.add_argument("--no-wait", action="store_true", help="submit, print TaskIds, exit")
    conv.add_argument("--timeout", type=float, default=600.0, help="seconds to wait (600)")
    conv.add_argument("--json", action="store_true", help="print a JSON summary")

    tasks = sub.add_parser("tasks", help="list a project's tasks (ListTasks)")
    tasks.add_argument("show", nargs="*", metavar="show TASKID", help="`tasks show ID`: GetTask")
    _common(tasks)
    tasks.add_argument("--type", dest="task_type", help="a task type, e.g. OfficeConversion")
    tasks.add_argument("--status", choices=("Running", "Succeeded", "Failed"))
    tasks.add_argument("--tag", action="append", default=[], help="key=value (repeatable)")
    tasks.add_argument("--since", help="30m, 1h, 2d or an ISO time")
    tasks.add_argument("--limit", type=int, default=50, help="most tasks shown (50)")
    tasks.add_argument("--json", action="store_true", help="print JSON")

    task = sub.add_parser("task", help="show one task (GetTask)")
    task.add_argument("task_id", metavar="TASKID")
    _common(task)
    task.add_argument("--type", dest="task_type", help="task type (default: from the TaskId)")
    task.add_argument("--json", action="store_true", help="print JSON")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", default="demo", help="IMM project (demo)")
    parser.add_argument("--endpoint", help="API host:port (default IMM_API_HOST:IMM_API_PORT)")


def _stdout() -> Console:
    from rich.console import Console

    # Not a terminal: wide enough that paths are not folded in the middle.
    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=240)


def run_client(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console

    from imm_engine.client.sdk import ApiRefused, ApiUnreachable

    err = Console(stderr=True, highlight=False)
    try:
        endpoint = parse_endpoint(args.endpoint) if args.endpoint else default_endpoint(settings)
        if args.command == "convert":
            return convert(args, settings, endpoint, err)
        if args.command == "tasks" and args.show:
            if args.show[0] != "show" or len(args.show) != 2:
                raise UsageError("use `imm-engine tasks [filters]` or `imm-engine tasks show ID`")
            return show(args.show[1], None, args, settings, endpoint)
        if args.command == "tasks":
            return tasks(args, settings, endpoint)
        return show(args.task_id, args.task_type, args, settings, endpoint)
    except (UsageError, ApiUnreachable) as exc:
        print(f"imm-engine {args.command}: {exc}", file=sys.stderr, flush=True)
        return 2
    except ApiRefused as exc:
        print(f"imm-engine {args.command}: the API refused: {exc}", file=sys.stderr, flush=True)
        return 2 if args.command != "task" else 1


def convert(args: argparse.Namespace, settings: Settings, endpoint: str, err: Console) -> int:
    from imm_engine.client.convert import ConvertOptions, run

    target = TARGET_ALIASES.get(args.target.lower(), args.target.lower())
    if target not in TARGET_TYPES:
        raise UsageError(f"--to {args.target!r}: choose one of {', '.join(TARGET_TYPES)}")
    if args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    opts = ConvertOptions(
        sources=list(args.sources),
        target_type=target,
        project=args.project,
        endpoint=endpoint,
        pages=check_pages(args.pages) if args.pages else None,
        out=args.out,
        bucket=args.bucket,
        wait=not args.no_wait,
        timeout_s=args.timeout,
        as_json=args.json,
        recursive=args.recursive,
    )
    return run(settings, opts, _stdout(), err)


def tasks(args: argparse.Namespace, settings: Settings, endpoint: str) -> int:
    from rich.table import Table

    from imm_engine.client import tasks_table as tt
    from imm_engine.client.sdk import build_client, call

    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    f = tt.TaskFilter(
        project=args.project,
        task_type=args.task_type,
        status=args.status,
        tags=tuple(parse_tag(t) for t in args.tag),
        since=parse_since(args.since, time.time()) if args.since else None,
        limit=args.limit,
    )
    client = build_client(settings, endpoint)
    found = list(tt.list_tasks(client, f, lambda fn: call(endpoint, fn)))
    if args.json:
        sys.stdout.write(json.dumps({"Tasks": found}, indent=2, ensure_ascii=False) + "\n")
        return 0
    table = Table(title=f"{len(found)} task(s) in {args.project}")
    for header in tt.HEADERS:
        table.add_column(header, overflow="fold")
    now = time.time()
    for task in found:
        table.add_row(*tt.row(task, now))
    _stdout().print(table)
    return 0


def show(
    task_id: str, task_type: str | None, args: argparse.Namespace, settings: Settings, endpoint: str
) -> int:
    from alibabacloud_imm20200930 import models as m
    from rich.table import Table

    from imm_engine.client import tasks_table as tt
    from imm_engine.client.sdk import build_client, call

    kind = task_type or tt.task_type_of(task_id)
    if not kind:
        raise UsageError(f"{task_id}: cannot tell its task type; give --type")
    client = build_client(settings, endpoint)
    request = m.GetTaskRequest(
        project_name=args.project, task_id=task_id, task_type=kind, request_definition=True
    )
    body = call(endpoint, lambda: client.get_task(request)).body.to_map()
    if args.json:
        sys.stdout.write(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
        return 0
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in tt.detail_lines(body, time.time()):
        table.add_row(key, value)
    _stdout().print(table)
    return 0
