"""Express mode over real HTTP against `python -m local`: the setting, blocking runs in one
StartSyncExecution, async runs, stop, switching modes, refusals, and runs recorded as a
Standard run of the same workflow records them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.api.test_v1_http import _wait
from tests.http_stub import SlowServer, slow_server
from tests.local_server import Server
from tests.service import dsl

pytestmark = pytest.mark.xdist_group("local-server")

# Differs from run to run of the same workflow, whatever its mode.
_VARYING = {"id", "_id", "workflowId", "workflow_run_id", "task_id", "workflow_id"}
_TIMES = {"createdAt", "startedAt", "completedAt", "created_at", "finished_at", "elapsed_time"}


def _sfn(server: Server) -> Any:
    return server.aws("stepfunctions")


def _import(admin: httpx.Client, document: str) -> tuple[str, str]:
    """A workflow imported from a Dify document (Standard, as every import) and an app key."""
    created = admin.post("/v1/workflows/import", json={"yaml_content": document})
    assert created.status_code == 201, created.text
    workflow_id = created.json()["id"]
    assert admin.get(f"/v1/workflows/{workflow_id}").json()["executionMode"] == "standard"
    key = admin.post(f"/v1/workflows/{workflow_id}/keys", json={"name": "express"})
    assert key.status_code == 201, key.text
    return workflow_id, key.json()["key"]


def _set_mode(admin: httpx.Client, workflow_id: str, mode: str) -> dict[str, Any]:
    answer = admin.put(f"/v1/workflows/{workflow_id}", json={"executionMode": mode})
    assert answer.status_code == 200, answer.text
    shown: dict[str, Any] = answer.json()
    return shown


def _blocking(server: Server, key: str, query: str) -> dict[str, Any]:
    with httpx.Client(base_url=server.base_url, timeout=30) as app:
        answer = app.post(
            "/v1/workflows/run",
            headers={"Authorization": f"Bearer {key}"},
            json={"inputs": {"query": query}, "response_mode": "blocking", "user": "u"},
        )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _same_shape(value: Any) -> Any:
    """`value` without what differs between two runs of one workflow (ids, times)."""
    if isinstance(value, dict):
        return {
            k: _same_shape(v)
            for k, v in value.items()
            if k not in _VARYING and k not in _TIMES and k != "elapsedMs"
        }
    if isinstance(value, list):
        return [_same_shape(v) for v in value]
    return value


def _machine_type(server: Server, arn: str) -> str | None:
    try:
        found: str = _sfn(server).describe_state_machine(stateMachineArn=arn)["type"]
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "StateMachineDoesNotExist"
        return None
    return found


def _machine_arn(workflow_id: str, suffix: str = "") -> str:
    return f"arn:aws:states:us-east-1:123456789012:stateMachine:stepcanvas-{workflow_id}{suffix}"


def test_express_runs_are_recorded_as_standard_runs_of_the_same_workflow(server: Server) -> None:
    with server.client() as admin:
        standard_id, standard_key = _import(admin, dsl.chain(3))
        express_id, express_key = _import(admin, dsl.chain(3))
        shown = _set_mode(admin, express_id, "express")
        assert shown["executionMode"] == "express" and shown["version"] == 2
        # One call: StartSyncExecution answers once the execution ended.
        started = time.perf_counter()
        express = _blocking(server, express_key, "q")
        one_call = time.perf_counter() - started
        standard = _blocking(server, standard_key, "q")
        express_run = admin.get(f"/v1/workflows/{express_id}/runs/{express['workflow_run_id']}")
        standard_run = admin.get(f"/v1/workflows/{standard_id}/runs/{standard['workflow_run_id']}")
        cost = admin.get(f"/v1/workflows/{express_id}/cost").json()
    assert express["data"]["status"] == "succeeded", express
    assert express["data"]["outputs"] == {"result": "q-1-2-3"}
    assert one_call < 10
    assert _same_shape(express) == _same_shape(standard)
    express_view, standard_view = express_run.json(), standard_run.json()
    assert express_view["version"] == 2 and standard_view["version"] == 1
    # One more write: the Express execution's claim of its run.
    assert express_view["usage"].pop("writes") == standard_view["usage"].pop("writes") + 1
    for view in (express_view, standard_view):
        view.pop("version")
        # Counted from the log for Express (no history): the same on a chain.
        assert view["usage"]["transitions"] == 6
    assert _same_shape(express_view) == _same_shape(standard_view)
    assert cost["executionMode"] == "express"
    assert _machine_type(server, _machine_arn(express_id, "-express")) == "EXPRESS"


def test_an_async_express_run_finishes_and_its_log_streams(server: Server) -> None:
    with server.client() as admin:
        workflow_id, _ = _import(admin, dsl.chain(2))
        _set_mode(admin, workflow_id, "express")
        started = admin.post(f"/v1/workflows/{workflow_id}/run", json={"data": {"query": "a"}})
        assert started.status_code == 200, started.text
        run = _wait(admin, workflow_id, started.json()["runId"])
        streamed = admin.get(f"/v1/runs/{run['id']}/events", timeout=30)
    assert run["status"] == "completed", run
    assert [s["nodeId"] for s in run["stepResults"]] == ["start", "t1", "t2", "end"]
    assert streamed.status_code == 200
    assert "workflow_finished" in streamed.text


def test_a_failing_express_run_answers_its_failure_in_the_one_call(server: Server) -> None:
    with server.client() as admin:
        express_id, express_key = _import(admin, dsl.failing())
        _, standard_key = _import(admin, dsl.failing())
        _set_mode(admin, express_id, "express")
    express, standard = _blocking(server, express_key, "x"), _blocking(server, standard_key, "x")
    assert express["data"]["status"] == "failed"
    assert "node 'boom' (Boom) failed" in express["data"]["error"]
    assert _same_shape(express) == _same_shape(standard)


@pytest.fixture(scope="module")
def sleepy() -> Iterator[SlowServer]:
    with slow_server(seconds=1.5) as slow:
        yield slow


def test_a_stopped_express_run_stays_stopped_and_runs_no_further_node(
    server: Server, sleepy: SlowServer
) -> None:
    workflow: dict[str, Any] = {
        "name": "slow express",
        "executionMode": "express",
        "nodes": [
            {"id": "call", "type": "http-request", "config": {"url": f"{sleepy.url}/first"}},
            {"id": "after", "type": "http-request", "config": {"url": f"{sleepy.url}/after"}},
        ],
        "edges": [{"from": "call", "to": "after"}],
    }
    for node in workflow["nodes"]:
        node["timeout_seconds"] = 30
    with server.client() as admin:
        created = admin.post("/v1/workflows", json=workflow)
        assert created.status_code == 201, created.text
        workflow_id = created.json()["id"]
        assert created.json()["executionMode"] == "express"
        run_id = admin.post(f"/v1/workflows/{workflow_id}/run", json={"data": {}}).json()["runId"]
        path = f"/v1/workflows/{workflow_id}/runs/{run_id}"
        deadline = time.monotonic() + 10
        while not admin.get(path).json()["stepResults"]:  # stopped while `call` runs
            assert time.monotonic() < deadline, "the first node never started"
            time.sleep(0.05)
        apps = admin.get("/apps").json()
        app_id = apps["data"][0]["id"] if "data" in apps else apps[0]["id"]
        cancelled = admin.post(f"/apps/{app_id}/workflows/{workflow_id}/runs/{run_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        time.sleep(3.5)  # the first call ends; the next task finds the run stopped
        run = admin.get(path).json()
    assert run["status"] == "failed" and run["error"] == "cancelled by the user", run
    assert [step["nodeId"] for step in run["stepResults"]] == ["call"]
    # Step Functions cannot stop an Express execution: its next task ended it unrun.
    assert sleepy.paths == ["/first"]


def test_switching_modes_keeps_the_versions_of_each_and_deletes_both_machines(
    server: Server,
) -> None:
    with server.client() as admin:
        workflow_id, key = _import(admin, dsl.chain(1))
        _set_mode(admin, workflow_id, "express")
        # The editor's test run of the draft runs on the Express machine's $LATEST.
        draft_run = admin.post(
            "/workflow/canvas/run", json={"id": workflow_id, "inputs": {"query": "d"}}
        )
        assert draft_run.status_code == 200, draft_run.text
        assert draft_run.json()["data"] == {"result": "d-1"}
        back = _set_mode(admin, workflow_id, "standard")
        assert back["version"] == 3 and back["executionMode"] == "standard"
        assert _machine_type(server, _machine_arn(workflow_id)) == "STANDARD"
        assert _machine_type(server, _machine_arn(workflow_id, "-express")) == "EXPRESS"
        # A run pinned to the Express version runs on the Express machine's version.
        with httpx.Client(base_url=server.base_url, timeout=30) as app:
            pinned = app.post(
                f"/v1/workflows/{workflow_id}-v2/run",
                headers={"Authorization": f"Bearer {key}"},
                json={"inputs": {"query": "p"}, "response_mode": "blocking", "user": "u"},
            )
        assert pinned.status_code == 200, pinned.text
        assert pinned.json()["data"]["outputs"] == {"result": "p-1"}
        assert _blocking(server, key, "l")["data"]["outputs"] == {"result": "l-1"}
        assert admin.delete(f"/v1/workflows/{workflow_id}").status_code == 200
    assert _machine_type(server, _machine_arn(workflow_id)) is None
    assert _machine_type(server, _machine_arn(workflow_id, "-express")) is None


def test_workflows_express_cannot_run_are_refused_naming_the_nodes(server: Server) -> None:
    nodes: list[dict[str, Any]] = [
        {"id": "fetch", "type": "http-request", "config": {"url": "http://127.0.0.1:1"}},
        {"id": "write", "type": "ai-generate", "config": {"prompt": "x"}},
    ]
    too_long = {
        "name": "too long",
        "executionMode": "express",
        "nodes": nodes,
        "edges": [{"from": "fetch", "to": "write"}],
    }
    with server.client() as admin:
        refused = admin.post("/v1/workflows", json=too_long)
        bad_value = admin.post("/v1/workflows", json={**too_long, "executionMode": "fast"})
        # Within the limit once the nodes' timeouts say so.
        for node in nodes:
            node["timeout_seconds"] = 60
        fits = admin.post("/v1/workflows", json=too_long)
        assert fits.status_code == 201, fits.text
        # A standard workflow switched to Express is checked the same way.
        standard = admin.post("/v1/workflows", json={**too_long, "executionMode": "standard"})
        for node in nodes:
            node["timeout_seconds"] = 200
        standard_id = standard.json()["id"]
        slower = admin.put(f"/v1/workflows/{standard_id}", json={"nodes": nodes})
        switched = admin.put(f"/v1/workflows/{standard_id}", json={"executionMode": "express"})
        after = admin.get(f"/v1/workflows/{standard_id}").json()
    assert refused.status_code == 400, refused.text
    problem = refused.json()["problems"][0]
    assert problem["where"] == "executionMode"
    assert "node 'fetch' 300s" in problem["reason"] and "node 'write' 300s" in problem["reason"]
    assert bad_value.status_code in (400, 422) and "executionMode" in bad_value.text
    assert slower.status_code == 200
    assert switched.status_code == 400 and "node 'fetch' 200s" in switched.text
    assert after["executionMode"] == "standard" and after["version"] == 2
