"""`imm-engine`: run the service, or one of its parts.

imm-engine up        API + worker + notifier (+ a private Redis when IMM_REDIS_URL is unset)
imm-engine api       the HTTP API only
imm-engine worker    Celery worker (one warm LibreOffice per process) + notifier
imm-engine flower    Flower (Celery monitor) on the same broker settings
imm-engine convert   convert files/folders through the API, with progress (docs/cli.md)
imm-engine tasks     list a project's tasks; `imm-engine task ID` shows one
imm-engine mns       the built-in MNS service alone, on IMM_MNS_PORT (docs/mns.md)
imm-engine notifier  the notification dispatcher only
                     (--replay-dead: queue every given-up event again, then exit)
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

from imm_engine import __version__
from imm_engine.client.commands import COMMANDS as CLIENT_COMMANDS
from imm_engine.client.commands import add_client_parsers, run_client
from imm_engine.extras import MissingExtra
from imm_engine.service import embedded_redis, exposure
from imm_engine.service.needs import require_extras
from imm_engine.service.processes import ProcessGroup, child_env, python_argv
from imm_engine.settings import Settings, SettingsError
from imm_engine.state import connection


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="imm-engine", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"imm-engine {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="run the whole service in the foreground")
    sub.add_parser("api", help="run the HTTP API")
    sub.add_parser("mns", help="run the built-in MNS service alone (IMM_MNS_PORT)")
    worker = sub.add_parser("worker", help="run a worker (and a notifier)")
    worker.add_argument(
        "--concurrency",
        type=int,
        default=0,
        help="worker processes (default: IMM_WORKER_CONCURRENCY or CPUs)",
    )
    worker.add_argument(
        "--no-notifier", action="store_true", help="do not run a notification dispatcher"
    )
    notifier_cmd = sub.add_parser("notifier", help="run the notification dispatcher")
    notifier_cmd.add_argument(
        "--replay-dead",
        action="store_true",
        help="queue every event that exhausted its delivery attempts again, then exit",
    )
    add_flower_parser(sub)
    add_client_parsers(sub)
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as exc:
        print(f"imm-engine: configuration error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    dispatches = not (getattr(args, "no_notifier", False) or getattr(args, "replay_dead", False))
    try:
        require_extras(args.command, settings, notifier=dispatches)
    except MissingExtra as exc:
        print(f"imm-engine {args.command}: {exc}", file=sys.stderr)
        return 2
    if args.command in CLIENT_COMMANDS:
        return run_client(args, settings)
    try:
        if args.command == "up":
            return up(settings)
        if not settings.redis_url:
            print(
                f"imm-engine {args.command}: set IMM_REDIS_URL (the Redis shared by API and "
                "workers), or use `imm-engine up` for a private one",
                file=sys.stderr,
            )
            return 2
        if args.command == "api":
            return api(settings)
        if args.command == "mns":
            return mns(settings)
        if args.command == "worker":
            return worker_group(settings, args.concurrency, not args.no_notifier)
        if args.command == "flower":
            return flower(settings, args.address, args.port)
        if getattr(args, "replay_dead", False):
            return replay_dead(settings)
        return notifier(settings)
    except embedded_redis.RedisUnavailable as exc:
        print(f"imm-engine: {exc}", file=sys.stderr)
        return 2


def refuse(command: str, reason: str | None) -> bool:
    """Print why `command` will not start (exposure checks), if it will not."""
    if reason is not None:
        print(f"imm-engine {command}: refusing to start: {reason}", file=sys.stderr)
    return reason is not None


def api(settings: Settings) -> int:
    from imm_engine.api.app import create_app

    if refuse("api", exposure.api_refusal(settings)):
        return 2
    app = create_app(settings)
    logging.getLogger("imm_engine").info("%s", exposure.api_banner(settings))
    serve_http(app, settings.api_host, settings.api_port)
    return 0


def serve_http(app: Any, host: str, port: int) -> None:
    """uvicorn, except that a stop signal also ends the built-in MNS's waiting long polls at
    once (they answer MessageNotExist) instead of holding the exit for up to 30 s."""
    import uvicorn

    from imm_engine.mns.longpoll import STOPPING

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            STOPPING.set()
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, server_header=False
    )
    Server(config).run()


def mns(settings: Settings) -> int:
    from imm_engine.api.app import redis_client
    from imm_engine.mns.app import create_mns_app

    if refuse("mns", exposure.api_refusal(settings)):  # same keys, same exposure
        return 2
    app = create_mns_app(settings, redis_client(settings))
    serve_http(app, settings.api_host, settings.mns_port)
    return 0


def celery_worker_argv(settings: Settings, concurrency: int) -> list[str]:
    return python_argv(
        "celery",
        "-A",
        "workers.app",
        "worker",
        "--pool",
        "prefork",
        "--concurrency",
        str(concurrency or settings.concurrency),
        "--loglevel",
        settings.log_level.upper(),
        "--events",
        "--without-gossip",
        "--without-mingle",
        "--hostname",
        f"imm-worker-{os.getpid()}@%h",
    )


def sandbox_problem(settings: Settings) -> str | None:
    """Why LibreOffice cannot run sandboxed and bounded here (IMM_SANDBOX), or None."""
    from workers.isolation.sandbox import SandboxUnavailable, check, policy_of

    try:
        check(policy_of(settings), settings.data_dir.absolute() / "soffice" / "sandbox-check")
    except SandboxUnavailable as exc:
        return str(exc)
    return None


def worker_group(settings: Settings, concurrency: int, with_notifier: bool) -> int:
    problem = sandbox_problem(settings)
    if problem:
        print(f"imm-engine worker: {problem}", file=sys.stderr)
        return 2
    group = ProcessGroup()
    env = child_env({"IMM_REDIS_URL": settings.redis_url})
    env.update(worker_metrics(settings))
    group.spawn("worker", celery_worker_argv(settings, concurrency), env)
    if with_notifier:
        group.spawn("notifier", python_argv("imm_engine.service.cli", "notifier"), env)
    return group.wait()


def notifier(settings: Settings) -> int:
    from imm_engine.api.app import redis_client
    from imm_engine.notify.dispatcher import Dispatcher
    from imm_engine.state.keys import Keys

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    dispatcher = Dispatcher(
        redis_client(settings),
        Keys(settings.key_prefix),
        settings.notify_routes,
        max_attempts=settings.notify_max_attempts,
        max_backoff_s=settings.notify_max_backoff_s,
        log_ttl_s=settings.task_ttl_s,
        durable_replicas=settings.durable_replicas,
        wait_timeout_ms=settings.redis_wait_timeout_ms,
    )
    dispatcher.run(stop)
    return 0


def replay_dead(settings: Settings) -> int:
    from imm_engine.api.app import redis_client
    from imm_engine.notify.replay import replay_dead as replay
    from imm_engine.state.keys import Keys

    count = replay(redis_client(settings), Keys(settings.key_prefix), log_ttl_s=settings.task_ttl_s)
    print(f"imm-engine: {count} given-up deliveries queued again", flush=True)
    return 0


def up(settings: Settings) -> int:
    if refuse("up", exposure.api_refusal(settings)) or refuse("up", sandbox_problem(settings)):
        return 2
    group = ProcessGroup()
    try:
        redis_url = settings.redis_url
        private = not redis_url
        if private:
            redis_url = embedded_redis.start(group, settings.data_dir)
        env = child_env({"IMM_REDIS_URL": redis_url})
        if private and not settings.default_projects:
            # A fresh local install answers the README's example: project "demo" exists.
            env["IMM_DEFAULT_PROJECTS"] = "demo"
        add_cli_route(settings, redis_url, env)
        group.spawn("api", python_argv("imm_engine.service.cli", "api"), without_multiproc(env))
        env.update(worker_metrics(settings))
        group.spawn("worker", celery_worker_argv(settings, 0), env)
        group.spawn("notifier", python_argv("imm_engine.service.cli", "notifier"), env)
    except BaseException:
        group.stop()
        raise
    banner(settings, redis_url, private)
    return group.wait()


def banner(settings: Settings, redis_url: str, private: bool) -> None:
    ak, secret = next(iter(settings.access_keys.items()))
    shown_secret = (
        secret.get_secret_value()
        if settings.access_keys_default
        else "(from IMM_ACCESS_KEY_SECRET)"
    )
    endpoint = f"{settings.api_host}:{settings.api_port}"
    lines = [
        f"imm-engine {__version__} is up",
        f"  API        http://{endpoint}  (SDK: endpoint='{endpoint}', protocol='http')",
        f"  AccessKey  {ak} / {shown_secret}"
        + (
            "   <- default pair for local use; set IMM_ACCESS_KEY_ID/SECRET"
            if settings.access_keys_default
            else ""
        ),
        f"  Storage    {settings.storage_root.absolute()}  (oss://bucket/key is <root>/bucket/key)"
        if settings.storage.buckets == {"*": "local"}
        else f"  Storage    {settings.storage.describe()}  (IMM_STORAGE_CONFIG)",
        f"  Redis      {redis_url}"
        + (f"  (private, data in {settings.data_dir.absolute() / 'redis'})" if private else ""),
        f"  Workers    {settings.concurrency} processes, one warm LibreOffice each",
        *(
            [f"  MNS        Account('http://{endpoint}/', ak, secret)  (queues and topics)"]
            if settings.mns_enabled
            else []
        ),
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)


def add_flower_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser("flower", help="run Flower, the Celery monitor, on our broker")
    cmd.add_argument("--address", default="127.0.0.1", help="listen address (127.0.0.1)")
    cmd.add_argument("--port", type=int, default=5555, help="listen port (5555)")


def flower(settings: Settings, address: str, port: int) -> int:
    """Replace this process by `celery -A workers.app flower`: workers/app.py builds the broker
    settings (including the Redis key prefix) from the same IMM_* variables. Its UI and API
    always ask for the login in IMM_FLOWER_BASIC_AUTH."""
    if refuse("flower", exposure.flower_refusal(settings)):
        return 2
    argv = python_argv(
        "celery", "-A", "workers.app", "flower", f"--address={address}", f"--port={port}"
    )
    env = exposure.flower_env(settings, child_env({"IMM_REDIS_URL": settings.redis_url}))
    logging.getLogger("imm_engine").info(
        "Flower on http://%s:%d, login required (users: %s)",
        address,
        port,
        ", ".join(s.get_secret_value().partition(":")[0] for s in settings.flower_basic_auth),
    )
    os.execve(argv[0], argv, env)
    return 0  # pragma: no cover - execve does not return


def add_cli_route(settings: Settings, redis_url: str, env: dict[str, str]) -> None:
    """The notification route `imm-engine convert` waits on (docs/cli.md): topic
    imm-engine-cli -> a Redis stream on the service's Redis, unless the configuration maps that
    topic already; where it is goes to <IMM_DATA_DIR>/cli.json for the CLI."""
    from imm_engine.client import cli_route
    from imm_engine.client.args import default_endpoint

    routes, prefix = settings.notify_routes, settings.key_prefix
    redis_url = connection.with_sentinel_password(
        redis_url, settings.redis_sentinel_password.get_secret_value()
    )
    # The children read the variable again: the route is added to its text as given.
    topics = cli_route.topics_with_cli_route(
        os.environ.get("IMM_NOTIFY_TOPICS"), routes, redis_url, prefix
    )
    if topics is not None:
        env["IMM_NOTIFY_TOPICS"] = topics
    stream = cli_route.effective_stream(routes, redis_url, prefix)
    doc = cli_route.runtime_document(default_endpoint(settings), stream)
    cli_route.write_runtime(settings.data_dir, doc)


def worker_metrics(settings: Settings) -> dict[str, str]:
    """Serve the worker group's metrics (IMM_WORKER_METRICS_PORT) from this process; returns
    the variables the worker and notifier need to record theirs (docs/metrics.md)."""
    from imm_engine.metrics import server

    _, extra = server.prepare(settings)
    return extra


def without_multiproc(env: dict[str, str]) -> dict[str, str]:
    """The API keeps its metrics in memory (a user's PROMETHEUS_MULTIPROC_DIR is not passed)."""
    return {k: v for k, v in env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}


if __name__ == "__main__":
    sys.exit(main())
