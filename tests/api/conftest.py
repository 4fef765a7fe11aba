"""HTTP tests: the real local server process (`python -m local`), spoken to over TCP."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    base_url: str
    admin_key: str
    demo_workflow_id: str
    startup_seconds: float
    # The in-process AWS APIs over HTTP (`AWS endpoint: …`) and the data bucket's name.
    aws_endpoint: str
    data_bucket: str

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"X-API-Key": key or self.admin_key}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    port = _free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "local", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # The service API tests' slow node calls a local server that the HTTP node's SSRF
        # guard would otherwise refuse.
        env={**os.environ, "PYTHONUNBUFFERED": "1", "HTTP_ALLOW_LIST": "127.0.0.1"},
    )
    assert process.stdout is not None
    lines: list[str] = []
    while not any(line.startswith("Ready in") for line in lines):
        line = process.stdout.readline()
        if not line:
            raise AssertionError("server exited during start-up:\n" + "".join(lines))
        lines.append(line)
    text = "".join(lines)
    key = re.search(r"Admin API key \(shown once\): (\S+)", text)
    demo = re.search(r"/v1/workflows/(\w+)", text)
    endpoint = re.search(r"AWS endpoint: (\S+)", text)
    bucket = re.search(r"Data bucket: (\S+)", text)
    assert key and demo and endpoint and bucket, text
    yield Server(
        base_url=f"http://127.0.0.1:{port}",
        admin_key=key.group(1),
        demo_workflow_id=demo.group(1),
        startup_seconds=time.perf_counter() - started,
        aws_endpoint=endpoint.group(1),
        data_bucket=bucket.group(1),
    )
    process.terminate()
    process.wait(timeout=10)
