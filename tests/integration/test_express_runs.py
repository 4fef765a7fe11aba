"""Express runs under moto, in-process: a blocking start is one StartSyncExecution, a second
execution of the same run (Express starts at least once) changes nothing, and a run whose
Express execution is gone is settled failed once Express's five minutes are over."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from functions.core import aws_clients, clock, engine
from functions.core.data import runs as run_store
from functions.core.model.run import Run, RunStatus
from functions.core.model.workflow import Draft, ExecutionMode, Graph
from functions.core.services import runs, workflows
from statemachines import express
from tests.integration.graph_runs import TENANT, echo, edge

pytestmark = pytest.mark.usefixtures("local_aws")


def _express(nodes: int = 2) -> dict[str, Any]:
    chain = [echo(f"n{i}", v=i) for i in range(nodes)]
    graph = Graph(nodes=chain, edges=[edge(f"n{i}", f"n{i + 1}") for i in range(nodes - 1)])
    draft = Draft(name="express", graph=graph, entry="n0", execution_mode=ExecutionMode.EXPRESS)
    return workflows.create(TENANT, draft)


def _calls(operation: str) -> list[str]:
    """The names of the executions `operation` is called for, from now on."""
    names: list[str] = []

    def spy(params: dict[str, Any], **_: Any) -> None:
        names.append(params["name"])

    event = f"provide-client-params.sfn.{operation}"
    # The shared client, made already, and any made later (the sync one) from the session.
    aws_clients.client("stepfunctions").meta.events.register(event, spy)
    aws_clients._shared_session().events.register(event, spy)
    return names


def _finished(run_id: str, timeout: float = 20) -> Run:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = run_store.get(run_id)
        if found is not None and found.status.finished:
            return found
        time.sleep(0.03)
    raise AssertionError(f"run {run_id} did not finish")


def test_a_blocking_start_runs_the_execution_to_its_end_in_one_call() -> None:
    workflow = _express()
    synced = _calls("StartSyncExecution")
    started = _calls("StartExecution")
    run = runs.start(TENANT, workflow["id"], {"x": 1}, wait_seconds=20)
    assert run.status is RunStatus.SUCCEEDED and run.outputs == {"n1": {"v": 1}}
    assert synced == [run.id] and started == []
    assert run.execution_mode is ExecutionMode.EXPRESS and run.execution_arn is None
    # Not blocking: an ordinary start, finished by its own tasks.
    later = runs.start(TENANT, workflow["id"], {"x": 2})
    assert later.status is RunStatus.RUNNING and started == [later.id]
    assert _finished(later.id).status is RunStatus.SUCCEEDED


def _shape(run_id: str) -> list[tuple[str, str | None, str | None]]:
    return [(e.type.value, e.node_id, str(e.status)) for e in run_store.events(run_id)]


def test_a_second_execution_of_the_same_run_writes_nothing() -> None:
    workflow = _express(3)
    alone = runs.start(TENANT, workflow["id"], None)
    _finished(alone.id)
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    inputs: list[str] = []
    original = engine.start

    def start_twice(target: str, run_id: str, execution_input: dict[str, Any]) -> str:
        # What Express may do: one start run twice (its name is not deduplicated).
        inputs.append(json.dumps(execution_input))
        arn = original(target, run_id, execution_input)
        inputs.append(
            sfn.start_execution(stateMachineArn=target, name=f"{run_id}-again", input=inputs[0])[
                "executionArn"
            ]
        )
        return arn

    engine.start = start_twice  # type: ignore[assignment]
    try:
        run = runs.start(TENANT, workflow["id"], None)
    finally:
        engine.start = original  # type: ignore[assignment]
    assert _finished(run.id).status is RunStatus.SUCCEEDED
    both = [engine.execution_arn(engine.machine_arn(workflow["id"], ExecutionMode.EXPRESS), run.id)]
    both.append(inputs[1])
    deadline = time.monotonic() + 20
    ended: list[dict[str, Any]] = []
    while len(ended) < len(both):
        assert time.monotonic() < deadline, "an execution did not end"
        ended = [
            d for a in both if (d := sfn.describe_execution(executionArn=a))["status"] != "RUNNING"
        ]
        time.sleep(0.05)
    # One of them ran the run; the other ended at its first task, having written nothing,
    # and without failing (no alarm counts it).
    assert [d["status"] for d in ended] == ["SUCCEEDED", "SUCCEEDED"]
    histories = [sfn.get_execution_history(executionArn=a, maxResults=1000)["events"] for a in both]
    (history,) = [
        h
        for h in histories
        if any(
            e.get("stateEnteredEventDetails", {}).get("name") == express.ENDED_ELSEWHERE for e in h
        )
    ]
    failures = [
        e["lambdaFunctionFailedEventDetails"]["error"]
        for e in history
        if e["type"] == "LambdaFunctionFailed"
    ]
    assert failures == ["DuplicateExecution"]
    assert _shape(run.id) == _shape(alone.id)


def test_an_express_run_running_past_its_five_minutes_is_settled_failed() -> None:
    workflow = _express()
    long_ago = (clock.now() - timedelta(minutes=7)).isoformat()
    stale = Run(
        id="stale-express-run",
        workflow_id=workflow["id"],
        tenant_id=TENANT,
        status=RunStatus.RUNNING,
        created_at=long_ago,
        started_at=long_ago,
        execution_mode=ExecutionMode.EXPRESS,
    )
    recent = stale.model_copy(update={"id": "recent-express-run", "started_at": clock.iso()})
    assert run_store.put(stale) and run_store.put(recent)
    settled = runs.get(TENANT, workflow["id"], stale.id)
    assert settled.status is RunStatus.FAILED
    assert settled.error is not None and "within 300 seconds, Express's limit" in settled.error
    assert runs.get(TENANT, workflow["id"], recent.id).status is RunStatus.RUNNING


def test_a_standard_machine_refuses_start_sync_execution_as_aws_does() -> None:
    graph = Graph(nodes=[echo("a", v=1)], edges=[])
    workflow = workflows.create(TENANT, Draft(name="standard", graph=graph, entry="a"))
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with pytest.raises(ClientError) as refused:
        sfn.start_sync_execution(stateMachineArn=workflow["versionArn"], input="{}")
    assert refused.value.response["Error"]["Code"] == "StateMachineTypeNotSupported"
