"""Runs: start one (record + execution), read it back with its step results."""

from __future__ import annotations

import contextlib
from typing import Any

from botocore.exceptions import ClientError

from functions.core import clock, engine, observability, payloads
from functions.core.data import runs as run_store
from functions.core.errors import Conflict, NotFound, Refused
from functions.core.ids import new_id
from functions.core.model import express as express_check
from functions.core.model.graph import Adjacency, reachable_from
from functions.core.model.run import EventType, Replay, Run, RunStatus, StepEvent, StepStatus
from functions.core.model.version import DRAFT, Pin
from functions.core.model.workflow import CONTAINER_TYPES, ExecutionMode, Graph, state_key
from functions.core.services import lifecycle, retention, workflows


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
    replay: Replay | None = None,
    reused_states: dict[str, Any] | None = None,
    wait_seconds: float | None = None,
) -> Run:
    """Record the run and start its execution: of version `pin`, of the latest published
    version (no pin), or of the draft (`DRAFT`, deployed by workflows.deploy_draft).

    `wait_seconds` (a blocking request): the caller is about to wait this long for the
    run's end. An Express run is then started with StartSyncExecution, which answers when
    the execution ends, and the run is returned as its end left it.

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
    mode = engine.mode_of(workflow_id, target)
    express = mode is ExecutionMode.EXPRESS
    run = Run(
        id=run_id,
        workflow_id=workflow_id,
        tenant_id=tenant_id,
        triggered_by=triggered_by,
        # Replaced by a reference below when it is big (see payloads.pack_trigger).
        trigger_data=None,
        inputs={f"sys.{name}": value for name, value in (sys_values or {}).items()},
        created_at=clock.iso(),
        # Running from the start: the record and its `workflow_started` event are written
        # here, so the state machine spends no transition on a begin task.
        status=RunStatus.RUNNING,
        version=version,
        replay=replay,
        # The workflow's default retention, if it has one.
        **retention.default_for_new_run(workflow),
        # Known before the start call, so no later write can race the execution's own.
        # An Express execution's ARN is made at its start and serves no API: none is kept.
        execution_arn=None
        if express
        else engine.execution_arn(engine.machine_arn(workflow_id), run_id),
        execution_mode=mode,
    )
    inline, ref = payloads.pack_trigger(run_id, trigger_data)
    run = run.model_copy(
        update={"trigger_data": inline, "trigger_data_ref": ref, "started_at": run.created_at}
    )
    if not run_store.put(run):
        existing = run_store.get(run_id)
        if existing is None:
            # Delivered again after the run it made became due: it is gone, not redone.
            raise Conflict(f"run '{run_id}' already ran and its retention has ended")
        return existing
    run_store.append_event(
        run.id,
        StepEvent(type=EventType.WORKFLOW_STARTED, at=run.created_at),
        run_store.event_ttl(run),
    )
    execution_input = {
        "run": {
            "runId": run.id,
            "workflowId": workflow_id,
            "tenantId": tenant_id,
            "version": version,
            # Each event the run's tasks write expires with the run (0: kept).
            "eventTtl": run_store.event_ttl(run) or 0,
            **({"express": True} if express else {}),
            # What a replay reuses: the tasks of these nodes answer the stored states (here,
            # not in `vars`: a task receives only the states its config reads).
            **(
                {
                    "replay": {
                        "runId": replay.run_id,
                        "reuse": replay.reuse,
                        "states": reused_states or {},
                    }
                }
                if replay
                else {}
            ),
        },
        "trigger": {"type": triggered_by, "data": inline, **({"dataRef": ref} if ref else {})},
        "sys": {
            "workflow_id": workflow_id,
            "workflow_run_id": run.id,
            "timestamp": run.created_at,
            **(sys_values or {}),
        },
        # A replay's reused steps enter it as their tasks answer them, as in the first run.
        "vars": {},
    }
    try:
        if express and wait_seconds is not None:
            ended = engine.start_sync(target, run.id, execution_input, wait_seconds)
            observability.run_started(workflow_id, triggered_by)
            return _settle_sync(run, ended)
        engine.start(target, run.id, execution_input)
    except Exception as exc:
        # Never leave a run running that no execution will ever finish.
        lifecycle.finish(run, RunStatus.FAILED, error=f"the run could not be started: {exc}")
        raise
    observability.run_started(workflow_id, triggered_by)
    return run


def _target(workflow: dict[str, Any], pin: Pin | None) -> tuple[str, Pin]:
    """The ARN to start and the version the run names. The latest version's ARN is on
    the workflow item; an older one is read from its version item."""
    if not isinstance(pin, int | None):
        # The draft's machine: the one of the mode it was deployed in (deploy_draft).
        return engine.machine_arn(workflow["id"], workflows.mode_of(workflow)), "draft"
    if pin is None or pin == workflow.get("published"):
        if not workflow.get("versionArn"):
            raise Conflict(f"workflow '{workflow['id']}' has no published version yet; publish it")
        return str(workflow["versionArn"]), int(workflow["published"])
    version = workflows.version_of(workflow, pin)
    return version.version_arn, version.number


def _settle_sync(run: Run, ended: engine.SyncResult) -> Run:
    """The run once its Express execution answered: an execution that ended without
    finalizing the run (a runtime error, its five minutes) fails the run now; one that
    found the run stopped, or owned by a duplicate of it, says nothing of the run."""
    current = run_store.get(run.id) or run
    if current.status.finished or ended.status in (None, "SUCCEEDED"):
        return current
    if express_check.quiet(ended.error):
        return current
    error = {
        "Error": ended.error.get("Error") or f"Execution{ended.status.title()}",
        "Cause": ended.error.get("Cause") or "the execution ended before the run was finalized",
    }
    lifecycle.fail(run.id, error, run_store.event_ttl(run))
    return run_store.get(run.id) or current


def get(tenant_id: str, workflow_id: str | None, run_id: str) -> Run:
    run = run_store.get_owned(tenant_id, workflow_id, run_id)
    if run is None:
        raise NotFound("run", run_id)
    return settle(run)


def settle(run: Run) -> Run:
    """The run as it really is: one whose execution ended without reaching a finalize
    task (a `States.Runtime` error, which no Catch can catch, or an abort from outside)
    is marked failed here, so no run stays `running` after its execution is gone.

    An Express execution cannot be described; it cannot outlive its five minutes either,
    so an Express run still running past them (and a margin for its last task) is one
    whose execution is gone."""
    if run.status.finished:
        return run
    if run.execution_mode is ExecutionMode.EXPRESS:
        error = _express_ended(run)
    elif run.execution_arn:
        error = _standard_ended(run.execution_arn)
    else:
        return run
    # A run whose retention ended meanwhile is gone: nothing is left to settle.
    if error is None or run_store.get(run.id) is None:
        return run
    lifecycle.fail(run.id, error, run_store.event_ttl(run))
    return run_store.get(run.id) or run


def _standard_ended(execution_arn: str) -> dict[str, str] | None:
    status = engine.status(execution_arn)
    if status in (None, "RUNNING"):
        return None
    return {
        "Error": f"Execution{status.title().replace('_', '')}",
        "Cause": "the execution ended before the run was finalized",
    }


def _express_ended(run: Run) -> dict[str, str] | None:
    started = clock.parse_iso(run.started_at or run.created_at)
    if (clock.now() - started).total_seconds() <= express_check.SETTLE_AFTER_SECONDS:
        return None
    return {
        "Error": "ExecutionTimedOut",
        "Cause": f"the Express execution did not finish the run within "
        f"{express_check.MAX_SECONDS} seconds, Express's limit",
    }


def list_for_workflow(
    tenant_id: str, workflow_id: str, limit: int, status: RunStatus | None = None
) -> list[Run]:
    """The tenant's runs of its workflow (or of another's discoverable one), newest
    first. The runs each app makes of a discoverable workflow are its own alone."""
    if workflows.discoverable(workflow_id) is None:
        workflows.get(tenant_id, workflow_id)
    found = run_store.list_for_workflow(tenant_id, workflow_id, limit=limit, status=status)
    return [settle(r) for r in found]


def node_events(run_id: str) -> list[StepEvent]:
    """The run's node events up to its end: what a node still running when the run was
    stopped reports afterwards is discarded (its step was closed as stopped)."""
    found: list[StepEvent] = []
    for event in run_store.events(run_id):
        if event.type is EventType.WORKFLOW_FINISHED:
            break
        if event.type in (EventType.NODE_STARTED, EventType.NODE_FINISHED):
            found.append(event)
    return found


def cancel(run: Run, cause: str = "cancelled by the user") -> Run:
    """Stop an unfinished run: it ends stopped, its execution is stopped, no later node
    runs. A finished run cannot be cancelled (Conflict naming its status)."""
    if not lifecycle.stop(run, cause):
        current = run_store.get(run.id) or run
        raise Conflict(f"run '{run.id}' already ended: it is {current.status.value}")
    # An Express execution cannot be stopped: its next task finds the run stopped and ends
    # it (functions/nodes/runtime.py); what runs meanwhile is discarded (node_events).
    if run.execution_arn:
        # The execution may have ended meanwhile: the run is recorded stopped all the same.
        with contextlib.suppress(ClientError):
            engine.stop(run.execution_arn, cause)
    return run_store.get(run.id) or run


def replay(workflow: dict[str, Any], original: Run, step_key: str) -> Run:
    """A new run of the same version and input in which `step_key` and everything after
    it run anew and every other step that ran reuses its stored outputs (so no side effect
    repeats). Refused naming the step when the graph has no such top-level step, or when
    reusing would need an iteration or loop to run again."""
    graph = workflows.snapshot(workflow, original.version).graph_model()
    states = _succeeded_states(original.id)
    reuse = replay_plan(graph, step_key, set(states))
    return start(
        original.tenant_id,
        original.workflow_id,
        payloads.unpack_trigger(original.trigger_data, original.trigger_data_ref),
        triggered_by="replay",
        sys_values={k.removeprefix("sys."): v for k, v in original.inputs.items()},
        pin=original.version,
        workflow=workflow,
        replay=Replay(run_id=original.id, step_key=step_key, reuse=sorted(reuse)),
        reused_states={state_key(node): states[node] for node in reuse},
    )


def replay_plan(graph: Graph, step_key: str, ran: set[str]) -> set[str]:
    """The steps a replay from `step_key` reuses: every step that succeeded in the
    original run and is neither `step_key` nor downstream of it."""
    nodes = {node.id: node for node in graph.nodes}
    step = nodes.get(step_key)
    if step is None or step.parent is not None:
        raise Refused(
            "invalid_param",
            f"stepKey: '{step_key}' is not a top-level step of the run's version",
        )
    downstream = reachable_from(Adjacency(graph), [step_key])
    reuse = {n for n in ran if n not in downstream and nodes.get(n) and not nodes[n].parent}
    # A container's or a looped step's stored outputs cannot stand in for its tasks.
    repeated = sorted(n for n in reuse if nodes[n].type in CONTAINER_TYPES or nodes[n].loop)
    if repeated:
        raise Refused(
            "invalid_param",
            f"stepKey: replaying from '{step_key}' would rerun the iteration or loop "
            f"{', '.join(repr(c) for c in repeated)} upstream of it; replay from one of them",
        )
    return reuse


def _succeeded_states(run_id: str) -> dict[str, dict[str, Any]]:
    """The `$.vars` state of every node whose last outcome in the run was a success:
    its outputs (or their S3 reference) and the handle a branching node chose."""
    states: dict[str, dict[str, Any] | None] = {}
    for event in node_events(run_id):
        if event.type is not EventType.NODE_FINISHED or not event.node_id:
            continue
        state: dict[str, Any] | None = None
        if event.status is StepStatus.SUCCEEDED:
            state = {"ref": event.outputs_ref} if event.outputs_ref else {"outputs": event.outputs}
            if event.handle is not None:
                state["handle"] = event.handle
        states[event.node_id] = state
    return {node: state for node, state in states.items() if state is not None}


def usage(events: list[StepEvent]) -> dict[str, Any]:
    """Model tokens: in total, per node execution (`calls`) and per step (`steps`)."""
    calls = [
        {"id": f"{event.node_id}#{event.seq}", "total": event.tokens or 0, "calls": []}
        for event in events
        if event.type is EventType.NODE_FINISHED and event.tokens
    ]
    by_step: dict[str, dict[str, int]] = {}
    for event in events:
        if event.type is EventType.NODE_FINISHED and event.tokens and event.node_id:
            step = by_step.setdefault(event.node_id, {"total": 0, "calls": 0})
            step["total"] += event.tokens
            step["calls"] += 1
    return {"total": sum(c["total"] for c in calls), "calls": calls, "steps": by_step}
