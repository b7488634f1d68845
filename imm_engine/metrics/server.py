"""The worker group's metrics endpoint: `imm-engine worker` and `imm-engine up` serve, on
IMM_METRICS_HOST:IMM_WORKER_METRICS_PORT, the metrics of every Celery pool process and of the
notifier they started, aggregated from a prometheus_client multiprocess directory.

`prepare` binds the port first (if it is taken the group runs without metrics and says so),
then empties the directory and returns the environment for the children: the directory must
be set in PROMETHEUS_MULTIPROC_DIR before they import prometheus_client.
"""

from __future__ import annotations

import logging
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from imm_engine.metrics.exposition import CONTENT_TYPE, authorized, render
from imm_engine.settings import Settings

log = logging.getLogger("imm_engine.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class MetricsServer:
    def __init__(self, httpd: ThreadingHTTPServer, directory: Path) -> None:
        self.httpd = httpd
        self.directory = directory

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> None:
        threading.Thread(target=self.httpd.serve_forever, daemon=True, name="metrics-http").start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def multiproc_dir(settings: Settings) -> Path:
    """One directory per worker group on a host: named by its (unique) metrics port."""
    return (settings.metrics_dir / f"worker-{settings.worker_metrics_port}").absolute()


def prepare(settings: Settings) -> tuple[MetricsServer | None, dict[str, str]]:
    """Start the endpoint; returns it and the variables its children need ({} if disabled)."""
    if not settings.worker_metrics_port:
        return None, {}
    directory = multiproc_dir(settings)
    try:
        httpd = _bind(settings, directory)
        shutil.rmtree(directory, ignore_errors=True)  # counters start at 0 with the group
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.error(
            "worker metrics disabled: cannot serve %s:%d (%s)",
            settings.metrics_host,
            settings.worker_metrics_port,
            exc,
        )
        return None, {}
    server = MetricsServer(httpd, directory)
    server.start()
    log.info("worker metrics on http://%s:%d/metrics", settings.metrics_host, server.port)
    return server, {MULTIPROC_ENV: str(directory)}


def _bind(settings: Settings, directory: Path) -> ThreadingHTTPServer:
    token = settings.metrics_token.get_secret_value()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] not in ("/metrics", "/"):
                self._answer(404, b"not found\n", "text/plain")
                return
            if not authorized(self.headers.get("authorization"), token):
                self._answer(401, b"unauthorized\n", "text/plain")
                return
            try:
                registry = CollectorRegistry()
                MultiProcessCollector(registry, path=str(directory))
                body = render(registry)
            except Exception:
                log.exception("metrics: cannot aggregate %s", directory)
                self._answer(500, b"metrics unavailable\n", "text/plain")
                return
            self._answer(200, body, CONTENT_TYPE)

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            if status == 401:
                self.send_header("www-authenticate", 'Bearer realm="imm-engine metrics"')
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    return _Server((settings.metrics_host, settings.worker_metrics_port), Handler)


class _Server(ThreadingHTTPServer):
    daemon_threads = True


def mark_dead(pid: int) -> None:
    """A pool process is gone: drop its live-gauge files (its counters stay counted)."""
    import os

    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return
    try:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, directory)
    except Exception as exc:
        log.debug("metrics: mark_process_dead(%d): %s", pid, exc)
