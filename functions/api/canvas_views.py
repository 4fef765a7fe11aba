"""How the canvas face (specs/canvas-api.md) shows drafts, runs and traces.

Times are Unix milliseconds and durations milliseconds, as the spec's `updateTime` is;
statuses are Dify's (the canvas edits Dify-shaped graphs). A trace is read from the run's
event log through the same mapper the service API streams with, so the index and the
predecessor of each node execution agree between a trace and a stream of the same run.
"""

from __future__ import annotations

from typing import Any

from functions.api.dify_views import RUN_STATUS, StreamMapper, outputs
from functions.core import clock
from functions.core.model.run import Run, RunStatus, StepEvent
from functions.core.model.version import DRAFT
from functions.core.model.workflow import Graph


def millis(moment: str | None) -> int | None:
    return int(clock.parse_iso(moment).timestamp() * 1000) if moment else None


def elapsed_ms(start: str | None, end: str | None) -> int:
    if not start:
        return 0
    finish = clock.parse_iso(end) if end else clock.now()
    return max(int((finish - clock.parse_iso(start)).total_seconds() * 1000), 0)


def draft_saved(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record["id"],
        "hash": record["hash"],
        "updateTime": millis(record["updatedAt"]),
        # A draft may be incomplete; publishing refuses it until these are gone.
        "problems": record.get("problems") or [],
    }


def version_label(run: Run) -> str:
    return DRAFT if run.version == DRAFT else str(run.version or "")


def test_run(run: Run) -> dict[str, Any]:
    """`POST /workflow/canvas/run`: the spec types `metadata` as strings only."""
    metadata = {
        "status": RUN_STATUS[run.status],
        "workflowId": run.workflow_id,
        "version": version_label(run),
        "elapsedTime": str(elapsed_ms(run.started_at or run.created_at, run.finished_at)),
    }
    if run.error:
        metadata["error"] = run.error
    return {
        "ts": millis(clock.iso()),
        "id": run.id,
        "metadata": metadata,
        "data": outputs(run) or {},
    }


def record(run: Run) -> dict[str, Any]:
    start = run.started_at or run.created_at
    return {
        "id": run.id,
        "status": RUN_STATUS[run.status],
        "version": version_label(run),
        "triggeredBy": run.triggered_by,
        "startTime": millis(start),
        "endTime": millis(run.finished_at),
        "elapsedTime": elapsed_ms(start, run.finished_at),
        "error": run.error,
    }


def trace(run: Run, events: list[StepEvent], graph: Graph) -> dict[str, Any]:
    """One trace per node execution, in the order they started; a node still open when
    the run stopped ends `stopped`. Skipped nodes never started, so have no trace."""
    mapper = StreamMapper(run, graph)
    traces: dict[str, dict[str, Any]] = {}
    for event in events:
        for chunk in mapper.node_chunks(event):
            data = chunk["data"]
            if chunk["event"] == "node_started":
                traces[data["id"]] = _trace(data, event, running=True, run=run)
            elif chunk["event"] == "node_finished":
                traces[data["id"]] = _trace(data, event, running=False, run=run)
    ordered = sorted(traces.values(), key=lambda t: t["index"])
    start = run.started_at or run.created_at
    return {
        "total": len(ordered),
        # The spec tags this field "total" too, which cannot be meant (see the README).
        "totalElapsedTime": elapsed_ms(start, run.finished_at),
        "traces": ordered,
    }


def _trace(data: dict[str, Any], event: StepEvent, *, running: bool, run: Run) -> dict[str, Any]:
    started = event.started_at or event.at if not running else event.at
    if running:
        # Open when the run ended: the node was cut short by the stop (or the failure).
        status = "running" if not run.status.finished else _cut_short(run)
        end = run.finished_at
    else:
        status = data["status"]
        end = event.at
    return {
        "nodeId": data["node_id"],
        "nodeType": data["node_type"],
        "title": data["title"],
        "index": data["index"],
        "predecessorNodeId": data["predecessor_node_id"],
        "status": status,
        "inputs": data.get("inputs") or {},
        "outputs": data.get("outputs") if not running else None,
        "error": data.get("error") if not running else None,
        "startTime": millis(started),
        "endTime": millis(end),
        "elapsedTime": (event.elapsed_ms or 0) if not running else elapsed_ms(started, end),
    }


def _cut_short(run: Run) -> str:
    return "stopped" if run.status is RunStatus.STOPPED else "failed"
