"""What the state machine's bookkeeping tasks do: begin a run and finalize it."""

from __future__ import annotations

import json
from typing import Any

from functions.core import clock, payloads
from functions.core.data import runs as run_store
from functions.core.model.run import EventType, Run, RunStatus, StepEvent, StepStatus
from functions.core.model.workflow import state_key

UNFINISHED = {RunStatus.PENDING, RunStatus.RUNNING}


def begin(run_id: str) -> None:
    run = _load(run_id)
    started = run.model_copy(update={"status": RunStatus.RUNNING, "started_at": clock.iso()})
    if run_store.transition(started, {RunStatus.PENDING}):
        run_store.append_event(
            run_id,
            StepEvent(type=EventType.WORKFLOW_STARTED, at=started.started_at or clock.iso()),
        )


def succeed(run_id: str, node_states: dict[str, Any], sinks: list[str]) -> None:
    outputs = {
        node_id: (payloads.unpack(node_states[state_key(node_id)]) or {}).get("result")
        for node_id in sinks
        if state_key(node_id) in node_states
    }
    _finish(_load(run_id), RunStatus.SUCCEEDED, outputs=outputs)


def fail(run_id: str, error: dict[str, Any]) -> None:
    run = _load(run_id)
    message = _error_message(error)
    _close_unfinished_nodes(run_id, message)
    _finish(run, RunStatus.FAILED, error=message)


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
                error=finished.error,
            ),
        )


def _load(run_id: str) -> Run:
    run = run_store.get(run_id)
    if run is None:
        raise LookupError(f"run '{run_id}' has no record")
    return run


def _error_message(error: dict[str, Any]) -> str:
    """Step Functions gives {Error, Cause}; a Lambda failure's Cause is its error JSON."""
    cause = error.get("Cause") or ""
    try:
        detail = json.loads(cause)
    except (TypeError, ValueError):
        detail = None
    if isinstance(detail, dict) and detail.get("errorMessage"):
        return str(detail["errorMessage"])
    name = error.get("Error", "Error")
    return f"{name}: {cause}" if cause else str(name)


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
