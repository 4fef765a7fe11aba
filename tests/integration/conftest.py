"""Integration fixtures: moto + the real gateway, functions and state machines, in-process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from starlette.testclient import TestClient

from functions.core.services import keys
from functions.core.services.keys import Scope
from functions.core.settings import get_settings
from local import aws, gateway
from tests.http_stub import stub_server


class Api:
    """A thin HTTP client for the v1 face that knows one key."""

    def __init__(self, client: TestClient, key: str) -> None:
        self.client = client
        self.headers = {"X-API-Key": key}

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.client.request(method, path, headers=self.headers, **kwargs)

    def create(self, document: dict[str, Any]) -> dict[str, Any]:
        answer = self.call("POST", "/v1/workflows", json=document)
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        return created

    def run_to_end(self, workflow_id: str, data: Any = None, timeout: float = 30) -> dict[str, Any]:
        started = self.call("POST", f"/v1/workflows/{workflow_id}/run", json={"data": data})
        assert started.status_code == 200, started.text
        run_id = started.json()["runId"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run: dict[str, Any] = self.call(
                "GET", f"/v1/workflows/{workflow_id}/runs/{run_id}"
            ).json()
            if run["status"] in ("completed", "failed"):
                return run
            time.sleep(0.05)
        raise AssertionError(f"run {run_id} did not finish in {timeout}s: {run}")


@pytest.fixture
def api(local_aws: aws.LocalAws) -> Iterator[Api]:
    plaintext, _ = keys.create("tenant-a", "test admin", {Scope.ADMIN})
    with TestClient(gateway.app()) as client:
        yield Api(client, plaintext)


@contextmanager
def reachable_stub(
    monkeypatch: pytest.MonkeyPatch, canned: dict[str, tuple[int, Any]]
) -> Iterator[str]:
    """A local HTTP stub the http-request node may call (loopback is allow-listed)."""
    monkeypatch.setenv("HTTP_ALLOW_LIST", "127.0.0.1")
    get_settings.cache_clear()
    with stub_server(canned) as base_url:
        yield base_url
    get_settings.cache_clear()
