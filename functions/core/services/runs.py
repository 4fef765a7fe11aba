"""Runs: start one (record + execution), read it back with its step results."""

from __future__ import annotations

from typing import Any

from functions.core import clock, engine, payloads
from functions.core.data import runs as run_store
from functions.core.errors import Conflict, NotFound
from functions.core.ids import new_id
from functions.core.model.run import EventType, Run, RunStatus, StepEvent
from functions.core.model.version import DRAFT, Pin
from functions.core.services import lifecycle, workflows


def start(
    tenant_id: str,
    workflow_id: str,
    trigger_data: Any,
    *,
    triggered_by: str = "api",
    sys_values: dict[str, Any] | None = None,
    run_id: str | None = None,
    pin: Pin | None = None,
    workflow: dict[str, Any] | None = None,
) -> Run:
    """Record the run and start its execution: of version `pin`, of the latest published
    version (no pin), or of the draft (`DRAFT`, deployed by workflows.deploy_draft).

    `sys_values` are extra system variables (`sys.user_id`, `sys.files`, …) a face passes
    to the nodes; the run keeps them as its `inputs` (`sys.<name>`), as Dify shows them.
    A trigger passes the `run_id` it derived from its delivery: a second delivery of the
    same schedule tick, event or object then finds its run and starts nothing.
    """
    workflow = workflow or workflows.get(tenant_id, workflow_id)
    if not workflow["enabled"] and pin != DRAFT:
        raise Conflict(f"workflow '{workflow_id}' is disabled")
    run_id = run_id or new_id()
    target, version = _target(workflow, pin)
    machine_arn = engine.machine_arn(workflow_id)
    run = Run(
        id=run_id,
        workflow_id=workflow_id,
        tenant_id=tenant_id,
        triggered_by=triggered_by,
        # Replaced by a reference below when it is big (see payloads.pack_trigger).
        trigger_data=None,
        inputs={f"sys.{name}": value for name, value in (sys_values or {}).items()},
        created_at=clock.iso(),
        version=version,
        # Known before the start call, so no later write can race the execution's own.
        execution_arn=engine.execution_arn(machine_arn, run_id),
    )
    inline, ref = payloads.pack_trigger(run_id, trigger_data)
    run = run.model_copy(update={"trigger_data": inline, "trigger_data_ref": ref})
    if not run_store.put(run):
        existing = run_store.get(run_id)
        assert existing is not None  # runs are never deleted before their retention ends
        return existing
    execution_input = {
        "run": {
            "runId": run.id,
            "workflowId": workflow_id,
            "tenantId": tenant_id,
            "version": version,
        },
        "trigger": {"type": triggered_by, "data": inline, **({"dataRef": ref} if ref else {})},
        "sys": {
            "workflow_id": workflow_id,
            "workflow_run_id": run.id,
            "timestamp": run.created_at,
            **(sys_values or {}),
        },
        "vars": {},
    }
    try:
        engine.start(target, run.id, execution_input)
    except Exception as exc:
        # Never leave a run pending that no execution will ever finish.
        failed = run.model_copy(
            update={
                "status": RunStatus.FAILED,
                "error": f"the run could not be started: {exc}",
                "finished_at": clock.iso(),
            }
        )
        run_store.transition(failed, {RunStatus.PENDING})
        raise
    return run


def _target(workflow: dict[str, Any], pin: Pin | None) -> tuple[str, Pin]:
    """The ARN to start and the version the run names. The latest version's ARN is on
    the workflow item; an older one is read from its version item."""
    if not isinstance(pin, int | None):
        return engine.machine_arn(workflow["id"]), "draft"
    if pin is None or pin == workflow.get("published"):
        if not workflow.get("versionArn"):
            raise Conflict(f"workflow '{workflow['id']}' has no published version yet; publish it")
        return str(workflow["versionArn"]), int(workflow["published"])
    version = workflows.version_of(workflow, pin)
    return version.version_arn, version.number


def get(tenant_id: str, workflow_id: str | None, run_id: str) -> Run:
    run = run_store.get(run_id)
    if (
        run is None
        or run.tenant_id != tenant_id
        or (workflow_id is not None and run.workflow_id != workflow_id)
    ):
        raise NotFound("run", run_id)
    return settle(run)


def settle(run: Run) -> Run:
    """The run as it really is: one whose execution ended without reaching a finalize
    task (a `States.Runtime` error, which no Catch can catch, or an abort from outside)
    is marked failed here, so no run stays `running` after its execution is gone."""
    if run.status.finished or not run.execution_arn:
        return run
    status = engine.status(run.execution_arn)
    if status in (None, "RUNNING"):
        return run
    lifecycle.fail(
        run.id,
        {
            "Error": f"Execution{status.title().replace('_', '')}",
            "Cause": "the execution ended before the run was finalized",
        },
    )
    return run_store.get(run.id) or run


def list_for_workflow(
    tenant_id: str, workflow_id: str, limit: int, status: RunStatus | None = None
) -> list[Run]:
    workflows.get(tenant_id, workflow_id)
    return [settle(r) for r in run_store.list_for_workflow(workflow_id, limit=limit, status=status)]


def node_events(run_id: str) -> list[StepEvent]:
    return [
        e
        for e in run_store.events(run_id)
        if e.type in (EventType.NODE_STARTED, EventType.NODE_FINISHED)
    ]
