"""Local HTTP servers for tests. `stub_server`: `/echo` answers with the request it got; any
path given a canned reply answers with that (status, JSON or text body). `slow_server`:
every GET answers `ok` after a delay, and the paths asked for are recorded."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


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


@dataclass
class SlowServer:
    url: str
    # The path of every GET, in the order they arrived (the query left out).
    paths: list[str] = field(default_factory=list)


class _SlowHandler(BaseHTTPRequestHandler):
    server: _SlowHTTPServer

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.server.slow.paths.append(url.path)
        time.sleep(float(parse_qs(url.query).get("s", [str(self.server.seconds)])[0]))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_: object) -> None:
        pass


class _SlowHTTPServer(ThreadingHTTPServer):
    slow: SlowServer
    seconds: float


@contextmanager
def slow_server(seconds: float = 0) -> Iterator[SlowServer]:
    """Each GET waits `?s=` seconds (default `seconds`) before it answers."""
    server = _SlowHTTPServer(("127.0.0.1", 0), _SlowHandler)
    server.slow = SlowServer(f"http://127.0.0.1:{server.server_address[1]}")
    server.seconds = seconds
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.slow
    finally:
        server.shutdown()
        server.server_close()
