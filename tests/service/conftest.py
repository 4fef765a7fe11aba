"""Service API fixtures: the real gateway, authorizer, functions and state machines in
this process (moto), spoken to through Starlette's TestClient or a live uvicorn server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from functions.core.services import keys
from functions.core.services.keys import Scope
from functions.core.settings import get_settings
from local import aws, gateway
from tests.service import dsl

TENANT = "tenant-svc"


@dataclass
class Service:
    """An admin (account key) who makes workflows and app keys, and the apps' clients."""

    client: httpx.Client
    admin_key: str
    app_keys: dict[str, str] = field(default_factory=dict)

    def account(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-API-Key": self.admin_key, **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def app(self, key: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}", **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def import_dify(self, text: str) -> dict[str, Any]:
        answer = self.account("POST", "/v1/workflows/import", json={"yaml_content": text})
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        return created

    def create_v1(self, document: dict[str, Any]) -> dict[str, Any]:
        answer = self.account("POST", "/v1/workflows", json=document)
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        return created

    def app_key(self, workflow_id: str) -> str:
        answer = self.account("POST", f"/v1/workflows/{workflow_id}/keys", json={"name": "test"})
        assert answer.status_code == 201, answer.text
        key: str = answer.json()["key"]
        return key

    def new_app(self, text: str) -> tuple[str, str]:
        """(workflow id, app key) of a freshly imported Dify document."""
        workflow = self.import_dify(text)
        return workflow["id"], self.app_key(workflow["id"])

    def run(self, key: str, inputs: dict[str, Any], **body: Any) -> httpx.Response:
        return self.app(
            key, "POST", "/v1/workflows/run", json={"inputs": inputs, "user": "u1", **body}
        )

    def wait_for(self, key: str, run_id: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            detail: dict[str, Any] = self.app(key, "GET", f"/v1/workflows/run/{run_id}").json()
            if detail["status"] != "running" or time.monotonic() > deadline:
                return detail
            time.sleep(0.05)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set settings for this test (environment variables the functions read)."""

    def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield apply
    get_settings.cache_clear()


@pytest.fixture
def service(local_aws: aws.LocalAws) -> Iterator[Service]:
    plaintext, _ = keys.create(TENANT, "service admin", {Scope.ADMIN})
    with TestClient(gateway.app()) as client:
        yield Service(client, plaintext)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def live(local_aws: aws.LocalAws) -> Iterator[Service]:
    """The gateway served by uvicorn on a free port: responses really stream over TCP."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(gateway.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    plaintext, _ = keys.create(TENANT, "live admin", {Scope.ADMIN})
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        yield Service(client, plaintext)
    server.should_exit = True
    thread.join(timeout=10)


class _Sleepy(BaseHTTPRequestHandler):
    """GET /sleep?s=<seconds> answers after that long."""

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        time.sleep(float(query.get("s", ["0"])[0]))
        payload = b'{"slept": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def sleepy(env: Callable[..., None]) -> Iterator[str]:
    """Base URL of a local server whose answers take as long as asked (the slow node)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sleepy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env(HTTP_ALLOW_LIST="127.0.0.1")
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def slow_app(service: Service, sleepy: str) -> tuple[str, str, str]:
    """(workflow id, app key, base URL of the sleepy server) of the slow workflow."""
    workflow_id, key = service.new_app(dsl.slow())
    return workflow_id, key, sleepy
