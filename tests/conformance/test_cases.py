"""Every case of CASES.jsonl end to end under moto: import the file, save it (validate,
compile, deploy the state machine), start a run as the service API does, wait for the run
record and compare its outputs with the expected ones exactly.

MOCKED cases (Dify's tests replaced the LLM/HTTP/tool node) get the same canned replies
here, without touching the engine:

- the LLM: the local provider's canned replies (LOCAL_LLM_REPLIES), chosen by the query
  the case sends; "This should fail" gets a model failure (the run fails, outputs {}),
  "Test with delay" a reply after a delay;
- HTTP: a local server (allowed through HTTP_ALLOW_LIST) answers the JSON Dify's mock
  returned; the case's URL (https://api.example.com/data) is pointed at it;
- the tool: the built-in json_parse tool parses that body for real.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from functions.core.data import runs as run_store
from functions.core.model.dify_format import import_document
from functions.core.model.run import Run, RunStatus
from functions.core.services import runs, workflows
from local import aws
from tests.conformance.corpus import DIFY, cases
from tests.http_stub import stub_server

TENANT = "conformance"
CANNED_REPLIES: dict[str, Any] = {
    "Hello, how are you?": "This is a test response from mocked LLM",
    "Test query": "Custom response for this specific node",
    "This should fail": {"error": "simulated LLM failure"},
    "Test with delay": {"text": "Response after delay", "delay_ms": 100},
    "Test custom handler": "Custom handler response",
}
CANNED_HTTP = {"/data": (200, {"key": "value", "number": 42})}
MOCKED_HOST = "https://api.example.com"
# Cases whose Dify test expected the run to fail (its outputs are then empty).
EXPECTED_FAILURES = {"LLM workflow with simulated error"}


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto with the real functions, the canned model replies and the HTTP stand-in."""
    with stub_server(CANNED_HTTP) as base:
        monkeypatch.setenv("LOCAL_LLM_REPLIES", json.dumps(CANNED_REPLIES))
        monkeypatch.setenv("HTTP_ALLOW_LIST", "127.0.0.1")
        monkeypatch.setenv("LLM_PROVIDER", "local")
        world = aws.start()
        try:
            yield base
        finally:
            world.stop()


def case_id(case: dict[str, Any]) -> str:
    return f"{case['fixture_path']}:{case.get('description', '')}"


def run_to_end(workflow_id: str, inputs: dict[str, Any], timeout: float = 60) -> Run:
    """The finished run, once its execution has ended too (the run record is final a
    moment before the execution's last task returns; moto must outlive that task)."""
    started = runs.start(TENANT, workflow_id, trigger_data=inputs, triggered_by="api")
    machines = boto3.client("stepfunctions", region_name=aws.REGION)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = run_store.get(started.id)
        if record is not None and record.status.finished:
            execution = machines.describe_execution(executionArn=record.execution_arn)
            if execution["status"] != "RUNNING":
                return record
        time.sleep(0.03)
    raise AssertionError(f"run {started.id} did not finish within {timeout}s")


@pytest.mark.parametrize("case", [pytest.param(c, id=case_id(c)) for c in cases()])
def test_case(case: dict[str, Any], engine: str) -> None:
    draft = import_document((DIFY / case["file"]).read_text(encoding="utf-8"))
    workflow = workflows.create(TENANT, draft)
    inputs = {
        key: value.replace(MOCKED_HOST, engine) if isinstance(value, str) else value
        for key, value in case["inputs"].items()
    }

    run = run_to_end(workflow["id"], inputs)

    if case.get("description") in EXPECTED_FAILURES:
        assert run.status is RunStatus.FAILED
        assert "simulated LLM failure" in (run.error or "")
        assert (run.outputs or {}) == case["expected_outputs"]
        return
    # The cases record outputs, not statuses: a handled node failure makes Dify's run
    # partial-succeeded, and the differential test (tests/differential) checks which.
    assert run.status.succeeded, run.error
    assert run.outputs == case["expected_outputs"]
