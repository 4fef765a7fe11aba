"""A local HTTP server for tests: `/echo` answers with the request it got; any path given
a canned reply answers with that (status, JSON or text body)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    server: _StubServer

    def do_GET(self) -> None:
        self._reply()

    def do_POST(self) -> None:
        self._reply()

    def do_PUT(self) -> None:
        self._reply()

    def _reply(self) -> None:
        path = self.path.split("?", 1)[0]
        length = int(self.headers.get("Content-Length") or 0)
        received = self.rfile.read(length).decode() if length else ""
        if path in self.server.canned:
            status, payload = self.server.canned[path]
        elif path == "/echo":
            status, payload = (
                200,
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": received,
                },
            )
        else:
            status, payload = 404, {"error": f"no route {path}"}
        text = payload if isinstance(payload, str) else json.dumps(payload)
        data = text.encode()
        self.send_response(status)
        self.send_header(
            "Content-Type", "text/plain" if isinstance(payload, str) else "application/json"
        )
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: object) -> None:
        pass


class _StubServer(ThreadingHTTPServer):
    canned: dict[str, tuple[int, Any]]


@contextmanager
def stub_server(canned: dict[str, tuple[int, Any]] | None = None) -> Iterator[str]:
    """The server's base URL while the block runs."""
    server = _StubServer(("127.0.0.1", 0), _Handler)
    server.canned = canned or {}
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
