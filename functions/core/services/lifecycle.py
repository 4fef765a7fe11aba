"""What the state machine's bookkeeping tasks do: begin a run and finalize it."""

from __future__ import annotations

import json
from typing import Any

from functions.core import clock, payloads
from functions.core.data import runs as run_store
from functions.core.model.run import EventType, Run, RunStatus, StepEvent, StepStatus
from functions.core.model.workflow import FAIL_BRANCH_HANDLE, ErrorStrategy, state_key

UNFINISHED = {RunStatus.PENDING, RunStatus.RUNNING}
# DynamoDB items hold 400 KB; the run item also carries its trigger data.
RUN_OUTPUTS_INLINE_LIMIT = 128 * 1024


def begin(run_id: str) -> None:
    run = _load(run_id)
    started = run.model_copy(update={"status": RunStatus.RUNNING, "started_at": clock.iso()})
    if run_store.transition(started, {RunStatus.PENDING}):
        run_store.append_event(
            run_id,
            StepEvent(type=EventType.WORKFLOW_STARTED, at=started.started_at or clock.iso()),
        )


def succeed(
    run_id: str, node_states: dict[str, Any], sinks: list[str], ends: list[str]
) -> None:
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
    _finish(
        _load(run_id),
        RunStatus.SUCCEEDED,
        outputs=stored.get("outputs"),
        outputs_ref=stored.get("ref"),
    )


def fail(run_id: str, error: dict[str, Any]) -> None:
    run = _load(run_id)
    message = _error_message(error)
    _close_unfinished_nodes(run_id, message)
    _finish(run, RunStatus.FAILED, error=message)


def recover(run_id: str, node: dict[str, Any], error: dict[str, Any]) -> dict[str, Any]:
    """A node with an error strategy failed: the outputs the run goes on with.

    The node's failure is already in the log; this adds the `exception` outcome with the
    outputs the strategy gives (error fields, defaults) and, for fail-branch, the handle.
    """
    message, kind = _error_message(error), _error_type(error)
    strategy = ErrorStrategy(node["errorStrategy"])
    outputs: dict[str, Any] = {"error_message": message, "error_type": kind}
    state: dict[str, Any] = {}
    if strategy is ErrorStrategy.FAIL_BRANCH:
        state["handle"] = FAIL_BRANCH_HANDLE
    elif strategy is ErrorStrategy.DEFAULT_VALUE:
        outputs = {**json.loads(node.get("defaultOutputs") or "{}"), **outputs}
    else:
        outputs["result"] = None
    run_store.append_event(
        run_id,
        StepEvent(
            type=EventType.NODE_FINISHED,
            at=clock.iso(),
            node_id=node["id"],
            node_type=node["type"],
            title=node.get("title") or node["id"],
            status=StepStatus.EXCEPTION,
            outputs=outputs,
            error=message,
        ),
    )
    return {"outputs": outputs, **state}


def _finish(run: Run, status: RunStatus, **fields: Any) -> None:
    finished = run.model_copy(update={"status": status, "finished_at": clock.iso(), **fields})
    # A stop that got there first wins: the run stays `stopped`.
    if run_store.transition(finished, UNFINISHED):
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


def _close_unfinished_nodes(run_id: str, message: str) -> None:
    """A node cut off by a timeout never wrote node_finished; write it, naming the cause."""
    started: dict[str, StepEvent] = {}
    for event in run_store.events(run_id):
        if event.type is EventType.NODE_STARTED and event.node_id:
            started[event.node_id] = event
        elif event.type is EventType.NODE_FINISHED and event.node_id:
            started.pop(event.node_id, None)
    for event in started.values():
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
        )
