"""Run an internal graph end to end under moto: save (validate, compile, deploy), start,
wait for the run record to finish, and read its event log."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import boto3

from functions.core import payloads
from functions.core.data import runs as run_store
from functions.core.model.run import EventType, Run, StepEvent, StepStatus
from functions.core.model.workflow import Draft, Edge, Graph, Node
from functions.core.services import runs, workflows

TENANT = "graph-tests"


@dataclass
class Outcome:
    run: Run
    events: list[StepEvent]
    workflow: dict[str, Any]

    def finished(self) -> dict[str, StepEvent]:
        """The last node_finished event of each node, by node id."""
        found: dict[str, StepEvent] = {}
        for event in self.events:
            if event.type is EventType.NODE_FINISHED and event.node_id:
                found[event.node_id] = event
        return found

    def executed(self) -> list[str]:
        """Node ids in the order they started (a node inside an iteration once per item)."""
        return [e.node_id for e in self.events if e.type is EventType.NODE_STARTED and e.node_id]

    def outputs(self, node_id: str) -> Any:
        event = self.finished()[node_id]
        if event.outputs_ref:
            return payloads.unpack({"ref": event.outputs_ref})
        return event.outputs

    def succeeded(self, node_id: str) -> bool:
        return self.finished()[node_id].status is StepStatus.SUCCEEDED

    def history(self) -> list[dict[str, Any]]:
        arn = self.run.execution_arn
        client = boto3.client("stepfunctions", region_name="us-east-1")
        events: list[dict[str, Any]] = client.get_execution_history(
            executionArn=arn, maxResults=1000
        )["events"]
        return events


NODE_FIELDS = ("parent", "error_strategy", "default_outputs", "retry", "timeout_seconds")


def node(node_id: str, kind: str, **config: Any) -> Node:
    """A node; keyword arguments are its config, except the Node fields in NODE_FIELDS."""
    fields = {k: config.pop(k) for k in NODE_FIELDS if k in config}
    return Node(id=node_id, type=kind, title=node_id, config=config, **fields)


def edge(source: str, target: str, handle: str | None = None) -> Edge:
    return Edge(source=source, target=target, source_handle=handle)


def echo(node_id: str, **values: Any) -> Node:
    """An echo tool whose result is `values` rendered; Node fields go to the node."""
    fields = {k: values.pop(k) for k in NODE_FIELDS if k in values}
    return node(node_id, "tool", tool="echo", input=values, **fields)


def deploy(nodes: list[Node], edges: list[Edge], entry: str | None = None) -> dict[str, Any]:
    graph = Graph(nodes=nodes, edges=edges)
    return workflows.create(TENANT, Draft(name="graph", graph=graph, entry=entry or nodes[0].id))


def run(workflow: dict[str, Any], data: Any = None, timeout: float = 60) -> Outcome:
    started = runs.start(TENANT, workflow["id"], data)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = run_store.get(started.id)
        # The run item turns finished just before its `workflow_finished` event is appended
        # (a stop that won must not be followed by a second finish): wait for both.
        if record is not None and record.status.finished:
            events = run_store.events(started.id)
            if events and events[-1].type is EventType.WORKFLOW_FINISHED:
                return Outcome(record, events, workflow)
        time.sleep(0.03)
    raise AssertionError(f"run {started.id} did not finish within {timeout}s")


def run_graph(
    nodes: list[Node], edges: list[Edge], data: Any = None, entry: str | None = None
) -> Outcome:
    return run(deploy(nodes, edges, entry), data)
