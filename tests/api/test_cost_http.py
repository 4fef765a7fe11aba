"""The cost route and a finished run's usage, over real HTTP against `python -m local`: the
estimate from the compiled machine is checked against what real runs of it used."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from statemachines import cost
from tests.api.test_v1_http import CHAIN, _key, _wait
from tests.local_server import Server

pytestmark = pytest.mark.xdist_group("local-server")

FIGURE_FIELDS = {"transitions", "lambdaRequests", "lambdaGbSeconds", "dynamodbWrites", "seconds"}


def _run(client: httpx.Client, workflow_id: str, building: str) -> dict[str, Any]:
    started = client.post(f"/v1/workflows/{workflow_id}/run", json={"data": {"building": building}})
    assert started.status_code == 200, started.text
    run_id = started.json()["runId"]
    return settled(
        client, f"/v1/workflows/{workflow_id}/runs/{run_id}", _wait(client, workflow_id, run_id)
    )


def settled(client: httpx.Client, path: str, run: dict[str, Any]) -> dict[str, Any]:
    """The finished run once its execution has ended too: the run record is finished by the
    machine's last Task, a moment before the execution ends (`transitions` is null until
    then)."""
    deadline = time.monotonic() + 10
    while run["usage"]["transitions"] is None:
        assert time.monotonic() < deadline, f"{path}: the execution did not end"
        time.sleep(0.05)
        run = client.get(path).json()
    return run


def test_the_estimate_brackets_what_real_runs_of_each_path_used(server: Server) -> None:
    with server.client() as client:
        workflow_id = client.post("/v1/workflows", json=CHAIN).json()["id"]
        answer = client.get(f"/v1/workflows/{workflow_id}/cost")
        assert answer.status_code == 200, answer.text
        estimate = answer.json()
        every_node = _run(client, workflow_id, "A")  # the condition holds: analyze runs
        skipped = _run(client, workflow_id, "B")  # it does not: analyze is skipped
        by_id = client.get(f"/v1/runs/{every_node['id']}").json()
    assert estimate["workflowId"] == workflow_id and estimate["version"] == 1
    per_run = estimate["perRun"]
    assert set(per_run["typical"]) == FIGURE_FIELDS
    # The longest path is the run where every node ran, the shortest the one that skipped.
    assert every_node["usage"]["transitions"] == per_run["max"]["transitions"]
    assert skipped["usage"]["transitions"] == per_run["min"]["transitions"]
    assert every_node["usage"]["writes"] == per_run["max"]["dynamodbWrites"]
    assert skipped["usage"]["writes"] == per_run["min"]["dynamodbWrites"]
    assert per_run["min"]["lambdaRequests"] < per_run["max"]["lambdaRequests"]
    assert (
        per_run["min"]["transitions"]
        < per_run["typical"]["transitions"]
        < per_run["max"]["transitions"]
    )
    # The run by its id alone shows the same usage; the model tokens are still there.
    assert by_id["usage"]["transitions"] == every_node["usage"]["transitions"]
    assert by_id["usage"]["writes"] == every_node["usage"]["writes"]
    assert "total" in by_id["usage"]
    standard = estimate["per1000Runs"]["standard"]["typical"]
    express = estimate["per1000Runs"]["express"]["typical"]
    # Standard: $0.025 per 1,000 transitions, so 1,000 runs cost $0.025 per transition.
    assert standard["stepFunctions"] == pytest.approx(0.025 * per_run["typical"]["transitions"])
    assert standard["total"] == pytest.approx(
        standard["stepFunctions"] + standard["lambda"] + standard["dynamodb"], abs=1e-6
    )
    # Express bills a request and its duration, not the transitions: far cheaper here.
    assert express["stepFunctions"] < standard["stepFunctions"]
    assert express["lambda"] == standard["lambda"]
    # An Express run writes once more: its execution's claim of the run.
    claim = cost.EXPRESS_WRITES_PER_RUN * cost.DYNAMODB_PER_WRITE * 1000
    assert express["dynamodb"] == pytest.approx(standard["dynamodb"] + claim, abs=1e-6)
    assumptions = estimate["assumptions"]
    assert assumptions["items"] == 10 and assumptions["region"] == "us-east-1"
    assert assumptions["functions"]["llm"]["memoryMb"] == 512


def test_cost_refuses_a_bad_item_count_and_hides_other_tenants_workflows(
    server: Server,
) -> None:
    with server.client() as client:
        workflow_id = client.post("/v1/workflows", json=CHAIN).json()["id"]
        more = client.get(f"/v1/workflows/{workflow_id}/cost", params={"items": 3})
        bad = client.get(f"/v1/workflows/{workflow_id}/cost", params={"items": -1})
        word = client.get(f"/v1/workflows/{workflow_id}/cost", params={"items": "many"})
        missing = client.get("/v1/workflows/no-such-workflow/cost")
    assert more.status_code == 200 and more.json()["assumptions"]["items"] == 3
    for refused in (bad, word):
        assert refused.status_code == 400, refused.text
        assert "items" in refused.json()["message"]
    assert missing.status_code == 404
    with server.client(_key(server, "read", tenant="new")) as stranger:
        assert stranger.get(f"/v1/workflows/{workflow_id}/cost").status_code == 404
    with server.client(_key(server, "read")) as reader:
        assert reader.get(f"/v1/workflows/{workflow_id}/cost").status_code == 200
