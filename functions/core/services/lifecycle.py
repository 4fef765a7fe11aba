"""What the state machine's bookkeeping tasks do: begin a run and finalize it."""

from __future__ import annotations

import json
from typing import Any

from functions.core import clock, observability, payloads
from functions.core.data import runs as run_store
from functions.core.model import express
from functions.core.model.run import EventType, Run, RunStatus, StepEvent, StepStatus
from functions.core.model.task import TaskNode
from functions.core.model.workflow import FAIL_BRANCH_HANDLE, ErrorStrategy, state_key

UNFINISHED = {RunStatus.PENDING, RunStatus.RUNNING}
# DynamoDB items hold 400 KB; the run item also carries its trigger data.
RUN_OUTPUTS_INLINE_LIMIT = 128 * 1024


def begin(run_id: str) -> None:
    run = _load(run_id)
    started = run.model_copy(update={"status": RunStatus.RUNNING, "started_at": clock.iso()})
    stored = run_store.transition(started, {RunStatus.PENDING})
    if stored:
        run_store.append_event(
            run_id,
            StepEvent(type=EventType.WORKFLOW_STARTED, at=started.started_at or clock.iso()),
            stored.event_ttl,
        )


def succeed(run_id: str, node_states: dict[str, Any], sinks: list[str], ends: list[str]) -> None:
    """The run's outputs: those of the end nodes that ran (Dify), else each last node's
    `result` by node id (v1, which has no end node)."""
    ran = [n for n in (ends or sinks) if state_key(n) in node_states]
    outputs: dict[str, Any] = {}
    for node_id in ran:
        node_outputs = payloads.unpack(node_states[state_key(node_id)]) or {}
        if ends:
            outputs.update(node_outputs)
        else:
            outputs[node_id] = node_outputs.get("result")
    # Outputs too big for the run's item go to S3, like node outputs.
    stored = payloads.pack(run_id, "run", outputs, RUN_OUTPUTS_INLINE_LIMIT)
    finish(
        _load(run_id),
        RunStatus.PARTIAL_SUCCEEDED if _a_node_failed(run_id) else RunStatus.SUCCEEDED,
        outputs=stored.get("outputs"),
        outputs_ref=stored.get("ref"),
    )


def fail(run_id: str, error: dict[str, Any], event_ttl: int | None) -> None:
    """`event_ttl`: the TTL the execution's events carry (its input's). An Express
    execution that found its run stopped, or another execution running it, changes
    nothing (functions/nodes/runtime.py)."""
    if express.quiet(error):
        return
    run = _load(run_id)
    message = _error_message(error)
    # A node that failed by itself is the culprit; nodes cut off meanwhile (concurrent
    # branches, or one that timed out, which never reports) are closed after it.
    culprit = _failed_node(run_id)
    cut_off = _close_unfinished_nodes(
        run_id, f"cancelled: node '{culprit.node_id}' failed" if culprit else message, event_ttl
    )
    culprit = culprit or (cut_off[0] if cut_off else None)
    if culprit is not None:
        message = f"node '{culprit.node_id}' ({culprit.title}) failed: {culprit.error or message}"
    finish(run, RunStatus.FAILED, error=message)


def stop(run: Run, cause: str) -> bool:
    """Mark an unfinished run `stopped` and close its log; False if it had already ended.

    The caller stops the execution afterwards: whatever its tasks still write, the finalize
    tasks cannot overwrite `stopped` (they only move a run out of pending/running).
    """
    stopped = run.model_copy(
        update={"status": RunStatus.STOPPED, "finished_at": clock.iso(), "error": cause}
    )
    stored = run_store.transition(stopped, UNFINISHED)
    if not stored:
        return False
    _close_unfinished_nodes(run.id, cause, stored.event_ttl)
    run_store.append_event(
        run.id,
        StepEvent(
            type=EventType.WORKFLOW_FINISHED,
            at=stopped.finished_at or clock.iso(),
            status=RunStatus.STOPPED,
            error=cause,
        ),
        stored.event_ttl,
    )
    return True


def recover(
    run_id: str, node: TaskNode, error: dict[str, Any], event_ttl: int | None
) -> dict[str, Any]:
    """A node with an error strategy failed: the outputs the run goes on with.

    The node's failure is already in the log; this adds the `exception` outcome with the
    outputs the strategy gives (error fields, defaults) and, for fail-branch, the handle.
    """
    if express.quiet(error):
        # Not the node's failure: the execution must end, whatever the node's strategy.
        express.raise_again(error)
    message, kind = _error_message(error), _error_type(error)
    if node.errorStrategy is None:
        raise ValueError(f"node '{node.id}' has no error strategy to recover by")
    strategy = ErrorStrategy(node.errorStrategy)
    outputs: dict[str, Any] = {"error_message": message, "error_type": kind}
    state: dict[str, Any] = {}
    if strategy is ErrorStrategy.FAIL_BRANCH:
        state["handle"] = FAIL_BRANCH_HANDLE
    elif strategy is ErrorStrategy.DEFAULT_VALUE:
        outputs = {**json.loads(node.defaultOutputs or "{}"), **outputs}
    else:
        outputs["result"] = None
    run_store.append_event(
        run_id,
        StepEvent(
            type=EventType.NODE_FINISHED,
            at=clock.iso(),
            node_id=node.id,
            node_type=node.type,
            title=node.title or node.id,
            status=StepStatus.EXCEPTION,
            outputs=outputs,
            error=message,
        ),
        event_ttl,
    )
    return {"outputs": outputs, **state}


def finish(run: Run, status: RunStatus, **fields: Any) -> None:
    """Record the unfinished run `run` ended with `status` and its finished event; a stop
    (or another finish) that got there first wins."""
    finished = run.model_copy(update={"status": status, "finished_at": clock.iso(), **fields})
    stored = run_store.transition(finished, UNFINISHED)
    if stored:
        observability.run_finished(run.workflow_id, run.triggered_by, status)
        run_store.append_event(
            run.id,
            StepEvent(
                type=EventType.WORKFLOW_FINISHED,
                at=finished.finished_at or clock.iso(),
                status=status,
                outputs=finished.outputs,
                outputs_ref=finished.outputs_ref,
                error=finished.error,
            ),
            stored.event_ttl,
        )


def _load(run_id: str) -> Run:
    run = run_store.get(run_id)
    if run is None:
        raise LookupError(f"run '{run_id}' has no record")
    return run


def _error_detail(error: dict[str, Any]) -> dict[str, Any]:
    """Step Functions gives {Error, Cause}; a Lambda failure's Cause is its error JSON."""
    try:
        detail = json.loads(error.get("Cause") or "")
    except (TypeError, ValueError):
        return {}
    return detail if isinstance(detail, dict) else {}


def _error_message(error: dict[str, Any]) -> str:
    detail = _error_detail(error)
    if detail.get("errorMessage"):
        return str(detail["errorMessage"])
    name, cause = error.get("Error", "Error"), error.get("Cause") or ""
    return f"{name}: {cause}" if cause else str(name)


def _error_type(error: dict[str, Any]) -> str:
    return str(_error_detail(error).get("errorType") or error.get("Error") or "Error")


def _a_node_failed(run_id: str) -> bool:
    """Whether a node failed in the run, its failure handled (the run went on)."""
    return any(
        e.type is EventType.NODE_FINISHED and e.status in (StepStatus.FAILED, StepStatus.EXCEPTION)
        for e in run_store.events(run_id)
    )


def _failed_node(run_id: str) -> StepEvent | None:
    """The node whose failure ended the run: the last one whose last word is `failed`
    (a failure its error strategy handled is followed by an `exception` event)."""
    latest: dict[str, StepEvent] = {}
    for event in run_store.events(run_id):
        if event.type is EventType.NODE_FINISHED and event.node_id:
            latest.pop(event.node_id, None)
            latest[event.node_id] = event
    failed = [e for e in latest.values() if e.status is StepStatus.FAILED and not e.handled]
    return failed[-1] if failed else None


def _close_unfinished_nodes(run_id: str, message: str, event_ttl: int | None) -> list[StepEvent]:
    """Nodes cut off (a timeout, a stop, a failing sibling branch) never wrote
    node_finished; write it for them, naming the cause, and return them."""
    started: dict[str, StepEvent] = {}
    for event in run_store.events(run_id):
        if event.type is EventType.NODE_STARTED and event.node_id:
            started[event.node_id] = event
        elif event.type is EventType.NODE_FINISHED and event.node_id:
            started.pop(event.node_id, None)
    return [
        run_store.append_event(
            run_id,
            event.model_copy(
                update={
                    "type": EventType.NODE_FINISHED,
                    "at": clock.iso(),
                    "status": StepStatus.FAILED,
                    "error": message,
                    "started_at": event.at,
                }
            ),
            event_ttl,
        )
        for event in started.values()
    ]
