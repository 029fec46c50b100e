"""Loopback peers for tests: a free port, and a JSON webhook receiver."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver:
    """A JSON webhook receiver that records what it is sent; can be started on a fixed port later."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[dict] = []
        self.paths: list[str] = []  # the request path of each received message, in the same order
        received, paths = self.received, self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("content-length", 0))
                received.append(json.loads(self.rfile.read(length) or b"{}"))
                paths.append(self.path)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def messages(self, path: str) -> list[dict]:
        """What was sent to `path` (e.g. one Apprise URL per role: /admin, /engineer)."""
        return [body for body, where in zip(self.received, self.paths, strict=False) if where == path]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
