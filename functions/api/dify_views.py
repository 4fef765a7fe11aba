"""How the service API (specs/dify-workflow-app-api.*) shows runs, their events and files.

Timestamps are Unix seconds and durations seconds, as Dify gives them. The task id of a
run is the run id: a run is the only task there is to stop.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from functions.core import clock, payloads
from functions.core.model.run import EventType, Run, RunStatus, StepEvent, StepStatus
from functions.core.model.workflow import Graph, NodeType
from functions.core.services.service_runs import Tally, user_of

RUN_STATUS = {
    # Dify has no "pending": a run it accepted is running.
    RunStatus.PENDING: "running",
    RunStatus.RUNNING: "running",
    RunStatus.SUCCEEDED: "succeeded",
    RunStatus.PARTIAL_SUCCEEDED: "partial-succeeded",
    RunStatus.FAILED: "failed",
    RunStatus.STOPPED: "stopped",
}
NODE_STATUS = {
    StepStatus.RUNNING.value: "running",
    StepStatus.SUCCEEDED.value: "succeeded",
    StepStatus.FAILED.value: "failed",
    # The spec's four statuses have no "exception" (a failure the node's error strategy
    # handled); such a node failed, and its outputs are what the strategy gave.
    StepStatus.EXCEPTION.value: "failed",
}
# Nodes whose text outputs are the app's answer: streamed as `text_chunk` events too.
TEXT_NODES = frozenset({NodeType.ANSWER.value, NodeType.END.value})


def unix(moment: str | None) -> int | None:
    return int(clock.parse_iso(moment).timestamp()) if moment else None


def seconds(start: str | None, end: str | None) -> float:
    if not start:
        return 0.0
    finish = clock.parse_iso(end) if end else clock.now()
    return round(max((finish - clock.parse_iso(start)).total_seconds(), 0.0), 3)


def workflow_version(run: Run) -> str:
    """The published version the run ran (`sys.workflow_id`); a run started by another
    face did not record it and shows its workflow."""
    return str(run.inputs.get("sys.workflow_id") or run.workflow_id)


def outputs(run: Run) -> dict[str, Any] | None:
    if run.outputs_ref:
        return payloads.unpack({"ref": run.outputs_ref})
    return run.outputs


def inputs(run: Run) -> dict[str, Any]:
    """The inputs as the run got them, with the system variables (`sys.user_id`, …)."""
    data = payloads.unpack_trigger(run.trigger_data, run.trigger_data_ref)
    data = data if isinstance(data, dict) else {}
    return {**data, **run.inputs}


def run_data(run: Run, tally: Tally) -> dict[str, Any]:
    return {
        "id": run.id,
        "workflow_id": workflow_version(run),
        "status": RUN_STATUS[run.status],
        "outputs": outputs(run) if run.status.succeeded else None,
        "error": run.error,
        "elapsed_time": seconds(run.created_at, run.finished_at),
        "total_tokens": tally.total_tokens,
        "total_steps": tally.total_steps,
        "created_at": unix(run.created_at),
        "finished_at": unix(run.finished_at),
    }


def blocking(run: Run, tally: Tally) -> dict[str, Any]:
    return {"workflow_run_id": run.id, "task_id": run.id, "data": run_data(run, tally)}


def run_detail(run: Run, tally: Tally) -> dict[str, Any]:
    data = run_data(run, tally)
    return {
        "id": data["id"],
        "workflow_id": data["workflow_id"],
        "status": data["status"],
        "inputs": inputs(run),
        "outputs": data["outputs"],
        "error": data["error"],
        "total_steps": data["total_steps"],
        "total_tokens": data["total_tokens"],
        "created_at": data["created_at"],
        "finished_at": data["finished_at"],
        "elapsed_time": data["elapsed_time"],
    }


def log_entry(run: Run, tally: Tally, end_user_id: str | None) -> dict[str, Any]:
    data = run_data(run, tally)
    user = user_of(run)
    return {
        "id": run.id,
        "workflow_run": {
            "id": run.id,
            "version": data["workflow_id"],
            "status": data["status"],
            "error": data["error"],
            "elapsed_time": data["elapsed_time"],
            "total_tokens": data["total_tokens"],
            "total_steps": data["total_steps"],
            "created_at": data["created_at"],
            "finished_at": data["finished_at"],
        },
        # A run with an end user came through the service API; others from another face.
        "created_from": "service-api" if user is not None else run.triggered_by,
        "created_by_role": "end_user" if user is not None else "account",
        "created_by_account": None,
        "created_by_end_user": (
            {"id": end_user_id, "type": "service_api", "is_anonymous": False, "session_id": user}
            if user is not None
            else None
        ),
        "created_at": data["created_at"],
    }


def uploaded_file(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record["id"],
        "name": record["name"],
        "size": record["size"],
        "extension": record["extension"],
        "mime_type": record["mime_type"],
        "created_by": record["created_by"],
        "created_at": unix(record["created_at"]),
    }


@dataclass(frozen=True)
class _Execution:
    id: str
    index: int
    predecessor: str | None


class StreamMapper:
    """Turns a run's event log, read in order, into the stream's chunks.

    It keeps what Dify's events carry and the log does not store: the id and index of
    each node execution, and the node it came from.
    """

    def __init__(self, run: Run, graph: Graph | None) -> None:
        self._run = run
        self._sources: dict[str, set[str]] = {}
        for edge in graph.edges if graph else []:
            self._sources.setdefault(edge.target, set()).add(edge.source)
        self._index = 0
        self._open: dict[str, list[_Execution]] = {}  # started, not finished, by node id
        self._closed: dict[str, _Execution] = {}  # the last finished, by node id
        self._finished_order: list[str] = []

    def envelope(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        run_id = self._run.id
        return {"event": event, "task_id": run_id, "workflow_run_id": run_id, "data": data}

    def workflow_started(self, sequence_number: int) -> dict[str, Any]:
        return self.envelope(
            "workflow_started",
            {
                "id": self._run.id,
                "workflow_id": workflow_version(self._run),
                "sequence_number": sequence_number,
                "inputs": inputs(self._run),
                "created_at": unix(self._run.created_at),
            },
        )

    def workflow_finished(self, run: Run, tally: Tally) -> dict[str, Any]:
        return self.envelope("workflow_finished", {**run_data(run, tally), "files": []})

    def node_chunks(self, event: StepEvent) -> list[dict[str, Any]]:
        if event.type is EventType.NODE_STARTED:
            return [self._node_started(event)]
        if event.type is EventType.NODE_FINISHED:
            return self._node_finished(event)
        return []

    def _node_started(self, event: StepEvent) -> dict[str, Any]:
        node_id = event.node_id or ""
        self._index += 1
        execution = _Execution(
            _execution_id(self._run.id, event.seq), self._index, self._predecessor(node_id)
        )
        self._open.setdefault(node_id, []).append(execution)
        # The log records a node's inputs when it finishes; node_finished carries them.
        return self.envelope("node_started", {**_node_fields(event, execution), "inputs": {}})

    def _node_finished(self, event: StepEvent) -> list[dict[str, Any]]:
        """The node's `node_finished`, after its text as `text_chunk`s for an answer/end."""
        node_id = event.node_id or ""
        pending = self._open.get(node_id)
        # A node that finishes twice (a failure, then its error strategy's outcome) keeps
        # the identity of its one start.
        execution = pending.pop(0) if pending else self._closed.get(node_id)
        if execution is None:
            self._index += 1
            execution = _Execution(_execution_id(self._run.id, event.seq), self._index, None)
        self._closed[node_id] = execution
        self._finished_order.append(node_id)
        node_outputs = event.outputs
        if event.outputs_ref:
            node_outputs = payloads.unpack({"ref": event.outputs_ref})
        chunks = []
        if event.node_type in TEXT_NODES and event.status == StepStatus.SUCCEEDED.value:
            chunks = [
                self.envelope(
                    "text_chunk", {"text": text, "from_variable_selector": [node_id, key]}
                )
                for key, text in (node_outputs or {}).items()
                if isinstance(text, str)
            ]
        finished = {
            **_node_fields(event, execution, event.started_at),
            "inputs": event.inputs or {},
            "process_data": None,
            "outputs": node_outputs,
            "status": NODE_STATUS.get(str(event.status), "failed"),
            "error": event.error,
            "elapsed_time": (event.elapsed_ms or 0) / 1000,
            "execution_metadata": {
                "total_tokens": event.tokens or 0,
                # Prices are not tracked: what a model call costs depends on the contract.
                "total_price": 0,
                "currency": "USD",
            },
            "finished_at": unix(event.at),
            "files": [],
        }
        return [*chunks, self.envelope("node_finished", finished)]

    def _predecessor(self, node_id: str) -> str | None:
        """The upstream node (by the graph's edges) that finished last."""
        sources = self._sources.get(node_id, set())
        return next((n for n in reversed(self._finished_order) if n in sources), None)


def _node_fields(
    event: StepEvent, execution: _Execution, started: str | None = None
) -> dict[str, Any]:
    return {
        "id": execution.id,
        "node_id": event.node_id,
        "node_type": event.node_type,
        "title": event.title,
        "index": execution.index,
        "predecessor_node_id": execution.predecessor,
        "created_at": unix(started or event.at),
    }


def _execution_id(run_id: str, seq: int) -> str:
    # Stable across reconnects: the same log entry always gives the same id.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"stepcanvas:{run_id}:{seq}"))
