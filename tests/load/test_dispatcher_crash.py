"""A dispatcher that crashes after it started a run, and SQS's redelivery of the message:
still exactly one run, and it completes (issue 10 item 8, dispatcher crash).

In-process under moto (the local server's trigger pump cannot be crashed from outside):
the real gateway makes the workflow, the real trigger queue holds the schedule tick, and
local/triggers.py's `drain` hands it to the real dispatcher handler, which fails once
after the run has started, exactly where a Lambda timeout or out-of-memory would cut it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from functions.core.data import runs as run_store
from functions.core.services import keys
from functions.core.services import triggers as trigger_service
from functions.core.services.keys import Scope
from functions.core.triggers import messages, sources
from local import aws, gateway
from local import triggers as pump

TENANT = "tenant-crash"
ECHO = [{"id": "a", "type": "tool-call", "config": {"tool": "echo", "input": {"x": 1}}}]


@pytest.fixture
def client(local_aws: aws.LocalAws) -> Iterator[tuple[TestClient, dict[str, str]]]:
    plaintext, _ = keys.create(TENANT, "crash test", {Scope.ADMIN})
    with TestClient(gateway.app()) as http:
        yield http, {"X-API-Key": plaintext}


class CrashOnce:
    """`triggers.dispatch` that starts the run, then fails its first delivery."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls = 0

    def __call__(self, message: Any) -> Any:
        self.calls += 1
        started = self.real(message)
        if self.calls == 1:
            raise RuntimeError("dispatcher crashed after starting the run")
        return started


def test_a_redelivery_after_a_crash_mid_dispatch_starts_no_second_run(
    client: tuple[TestClient, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    http, headers = client
    created = http.post(
        "/v1/workflows",
        json={"name": "crash", "trigger": {"type": "cron", "schedule": "0 9 * * *"}, "nodes": ECHO},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    workflow_id = created.json()["id"]
    crash = CrashOnce(trigger_service.dispatch)
    monkeypatch.setattr(trigger_service, "dispatch", crash)
    tick = messages.cron_template(workflow_id, TENANT).replace(
        messages.SCHEDULED_TIME, "2026-12-01T09:00:00Z"
    )
    sources.send(tick)

    assert pump.drain() == 1  # the crash: the message is reported failed, visible again
    assert pump.drain() == 1  # the redelivery
    assert pump.drain() == 0  # and then the queue is empty: it was acknowledged

    assert crash.calls == 2
    (run,) = run_store.list_for_workflow(TENANT, workflow_id, limit=100)
    deadline = time.monotonic() + 30
    status = ""
    while time.monotonic() < deadline:
        status = http.get(f"/v1/workflows/{workflow_id}/runs/{run.id}", headers=headers).json()[
            "status"
        ]
        if status in ("completed", "failed"):
            break
        time.sleep(0.05)
    assert status == "completed"
    assert len(run_store.list_for_workflow(TENANT, workflow_id, limit=100)) == 1
