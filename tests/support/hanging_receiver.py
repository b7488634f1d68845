"""A webhook receiver that accepts connections and does not answer (for fault tests)."""

from __future__ import annotations

import http.server
import threading
import time


class Hanging:
    """A receiver that accepts the connection and does not answer for `hold_s`."""

    def __init__(self, hold_s: float) -> None:
        self.hold_s = hold_s
        self.hits: list[float] = []
        self.release = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.hits.append(time.time())
                outer.release.wait(outer.hold_s)
                self.rfile.read(int(self.headers["content-length"]))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
