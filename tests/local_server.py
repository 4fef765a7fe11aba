"""The real local server (`python -m local`) as a child process, for the HTTP tests and
the benchmarks: started on a free port, its start-up banner parsed, its output drained."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BANNER = {
    "admin_key": r"Admin API key \(shown once\): (\S+)",
    "demo_workflow_id": r"/v1/workflows/(\w+)",
    "aws_endpoint": r"AWS endpoint: (\S+)",
    "data_bucket": r"Data bucket: (\S+)",
}


@dataclass
class Server:
    base_url: str
    admin_key: str
    demo_workflow_id: str
    startup_seconds: float
    # The in-process AWS APIs over HTTP (`AWS endpoint: …`) and the data bucket's name.
    aws_endpoint: str
    data_bucket: str
    # The server's latest output lines, for a failing test to show.
    output: deque[str] = field(default_factory=lambda: deque(maxlen=2000))

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"X-API-Key": key or self.admin_key}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)

    def aws(self, service: str, *, resource: bool = False) -> Any:
        """A boto3 client (or resource) of the server's in-process AWS, as a user reaches it
        through the printed endpoint (moto takes any credentials)."""
        import boto3

        make = boto3.resource if resource else boto3.client
        return make(
            service,
            endpoint_url=self.aws_endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running(env: dict[str, str] | None = None) -> Iterator[Server]:
    """A started server, stopped on exit; `env` adds to the environment it inherits."""
    port = _free_port()
    started = time.perf_counter()
    # Its admin key is saved apart from the developer's own (local/saved_key.py).
    key_file = Path(tempfile.mkdtemp(prefix="stepcanvas-key-")) / "local.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "local", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "STEPCANVAS_KEY_FILE": str(key_file),
            **(env or {}),
        },
    )
    assert process.stdout is not None
    try:
        lines: list[str] = []
        while not any(line.startswith("Ready in") for line in lines):
            line = process.stdout.readline()
            if not line:
                raise AssertionError("the local server exited during start-up:\n" + "".join(lines))
            lines.append(line)
        text = "".join(lines)
        found = {name: re.search(pattern, text) for name, pattern in BANNER.items()}
        banner = {name: match.group(1) for name, match in found.items() if match}
        assert banner.keys() == BANNER.keys(), f"a start-up banner lacking a field:\n{text}"
        server = Server(
            base_url=f"http://127.0.0.1:{port}",
            admin_key=banner["admin_key"],
            demo_workflow_id=banner["demo_workflow_id"],
            startup_seconds=time.perf_counter() - started,
            aws_endpoint=banner["aws_endpoint"],
            data_bucket=banner["data_bucket"],
        )
        # The server logs every invocation: left unread, the pipe fills (64 KB) and the
        # next thread to log blocks on the write, the trigger pump first.
        threading.Thread(
            target=server.output.extend, args=(process.stdout,), name="server-output", daemon=True
        ).start()
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)
