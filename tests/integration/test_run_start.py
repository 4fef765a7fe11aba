"""A run is recorded running, with its `workflow_started` event, by the call that starts its
execution: the compiled machine has no begin task (issue 13 item 1). When the start call
fails, the run is recorded failed, so it never stays running."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from functions.core.data import runs as run_store
from functions.core.model.run import EventType, RunStatus
from functions.core.services import runs
from tests.integration.graph_runs import TENANT, deploy, echo, edge, run

pytestmark = pytest.mark.usefixtures("local_aws")


def test_a_run_is_running_with_its_started_event_before_any_task() -> None:
    workflow = deploy([echo("a", v=1), echo("b", v="{{a.result.v}}")], [edge("a", "b")])
    outcome = run(workflow)
    assert outcome.run.status is RunStatus.SUCCEEDED
    assert outcome.run.started_at == outcome.run.created_at
    kinds = [e.type for e in outcome.events]
    assert kinds[0] is EventType.WORKFLOW_STARTED
    assert kinds.count(EventType.WORKFLOW_STARTED) == 1
    assert kinds[-1] is EventType.WORKFLOW_FINISHED
    # One state per node and the finalize task: nothing begins the run.
    entered = [
        e["stateEnteredEventDetails"]["name"]
        for e in outcome.history()
        if e["type"].endswith("StateEntered")
    ]
    assert entered == ["a", "b", "Finalize succeeded"]


def test_a_run_whose_execution_cannot_start_is_recorded_failed() -> None:
    workflow = deploy([echo("a", v=1)], [])
    # The published version's machine is gone: the real start call fails.
    boto3.client("stepfunctions", region_name="us-east-1").delete_state_machine(
        stateMachineArn=workflow["stateMachineArn"]
    )
    with pytest.raises(ClientError):
        runs.start(TENANT, workflow["id"], None, run_id="cannot-start")
    record = run_store.get("cannot-start")
    assert record is not None
    assert record.status is RunStatus.FAILED
    assert record.error and record.error.startswith("the run could not be started")
    kinds = [e.type for e in run_store.events("cannot-start")]
    assert kinds == [EventType.WORKFLOW_STARTED, EventType.WORKFLOW_FINISHED]
