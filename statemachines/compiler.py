"""Workflow graph -> Amazon States Language. A pure function: no AWS calls.

Shape of every compiled machine:

    Body (Parallel, one branch) ── Catch States.ALL ──> FinalizeFailed -> Failed
      Begin -> node tasks in topological order, guarded where a node may be skipped
    FinalizeSucceeded

Execution state: `{"run", "trigger", "sys", "vars"}`; each node task writes its result to
`$.vars.<state_key(node id)>` as `{"outputs"|"ref", "handle"?}`.

Skips follow Dify's rule: a node runs when at least one incoming edge was taken; an edge
is taken when its source ran and, for a branching source, chose that edge's handle. Nodes
whose liveness is not implied by the path that reaches them get a guard `Choice` that
checks exactly that and otherwise jumps past them. Fan-out is serialised in topological
order, so every edge is honoured whatever the graph's shape; chains share one guard.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from functions.core.model.graph import Adjacency, topological_order
from functions.core.model.workflow import Edge, Graph, Node, state_key

LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
_SERVICE_RETRY = {
    "ErrorEquals": LAMBDA_SERVICE_ERRORS,
    "IntervalSeconds": 1,
    "MaxAttempts": 3,
    "BackoffRate": 2.0,
}
BODY = "Body"
BEGIN = "Begin"
FINALIZE_SUCCEEDED = "FinalizeSucceeded"
FINALIZE_FAILED = "FinalizeFailed"
FAILED = "Failed"
DONE = "Done"


@dataclass(frozen=True)
class Targets:
    """The Lambda functions the machine calls: one per node type, and the runs function."""

    node_functions: Mapping[str, str]
    runs_function: str


class CompileError(ValueError):
    pass


def compile_workflow(graph: Graph, *, entry: str, targets: Targets) -> dict[str, Any]:
    adj = Adjacency(graph)
    nodes = {n.id: n for n in graph.nodes}
    missing = sorted({n.type.value for n in graph.nodes} - set(targets.node_functions))
    if missing:
        raise CompileError(f"no function deployed for node types: {', '.join(missing)}")
    body = _Body(adj, nodes, entry, targets).states()
    run_args = {"run.$": "$.run"}
    return {
        "Comment": "Compiled by Stepcanvas; one Task per workflow node.",
        "StartAt": BODY,
        "States": {
            BODY: {
                "Type": "Parallel",
                "Branches": [body],
                "ResultSelector": {"vars.$": "$[0].vars"},
                "ResultPath": "$.body",
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "ResultPath": "$.error",
                        "Next": FINALIZE_FAILED,
                    }
                ],
                "Next": FINALIZE_SUCCEEDED,
            },
            FINALIZE_SUCCEEDED: _runs_task(
                targets,
                {"action": "succeed", **run_args, "vars.$": "$.body.vars", "sinks": _sinks(adj)},
                end=True,
            ),
            FINALIZE_FAILED: _runs_task(
                targets, {"action": "fail", **run_args, "error.$": "$.error"}, next_state=FAILED
            ),
            FAILED: {
                "Type": "Fail",
                "Error": "WorkflowFailed",
                "Cause": "A node failed; see the run record.",
            },
        },
    }


def _sinks(adj: Adjacency) -> list[str]:
    return [n for n in adj.node_ids if not adj.outgoing[n]]


def _runs_task(
    targets: Targets,
    parameters: dict[str, Any],
    *,
    next_state: str | None = None,
    end: bool = False,
) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": targets.runs_function,
        "Parameters": parameters,
        "ResultPath": None,
        "Retry": [_SERVICE_RETRY],
    }
    if end:
        state["End"] = True
    else:
        state["Next"] = next_state
    return state


class _Body:
    """Builds the states of the body branch for one graph."""

    def __init__(
        self, adj: Adjacency, nodes: dict[str, Node], entry: str, targets: Targets
    ) -> None:
        self.adj = adj
        self.nodes = nodes
        self.entry = entry
        self.targets = targets
        self.always_live = self._always_live()

    def states(self) -> dict[str, Any]:
        segments = self._segments()
        states: dict[str, Any] = {}
        first = [self._entry_state(seg) for seg in segments]
        for index, segment in enumerate(segments):
            after = first[index + 1] if index + 1 < len(segments) else DONE
            head = segment[0]
            if head not in self.always_live:
                states[_guard_name(head)] = self._guard(head, _task_name(head), after)
            for position, node_id in enumerate(segment):
                following = (
                    _task_name(segment[position + 1]) if position + 1 < len(segment) else after
                )
                states[_task_name(node_id)] = self._task(self.nodes[node_id], following)
        _end_at_done(states)
        return {
            "StartAt": BEGIN,
            "States": {
                BEGIN: _runs_task(
                    self.targets, {"action": "begin", "run.$": "$.run"}, next_state=first[0]
                ),
                **states,
            },
        }

    def _entry_state(self, segment: list[str]) -> str:
        head = segment[0]
        return _task_name(head) if head in self.always_live else _guard_name(head)

    def _always_live(self) -> set[str]:
        """Nodes that run whenever the workflow runs: reached from the entry by edges that
        are always taken (unconditional edges from always-live nodes)."""
        live = {self.entry}
        order = topological_order(self.adj) or []
        for node_id in order:
            if any(
                e.source in live and e.source_handle is None for e in self.adj.incoming[node_id]
            ):
                live.add(node_id)
        return live

    def _segments(self) -> list[list[str]]:
        """Topological order, cut into chains: a node joins its predecessor's segment when
        it is that node's only successor by one unconditional edge and has no other input,
        so the chain runs exactly when its head runs and needs one guard at most."""
        order = topological_order(self.adj)
        if order is None:
            raise CompileError("the graph has a cycle")
        segment_of: dict[str, list[str]] = {}
        segments: list[list[str]] = []
        for node_id in order:
            incoming = self.adj.incoming[node_id]
            if len(incoming) == 1 and incoming[0].source_handle is None:
                source = incoming[0].source
                chain = segment_of[source]
                if chain[-1] == source and len(self.adj.outgoing[source]) == 1:
                    chain.append(node_id)
                    segment_of[node_id] = chain
                    continue
            segment_of[node_id] = [node_id]
            segments.append(segment_of[node_id])
        return segments

    def _guard(self, node_id: str, run_state: str, skip_state: str) -> dict[str, Any]:
        return {
            "Type": "Choice",
            "Choices": [
                {"Or": [_edge_taken(e) for e in self.adj.incoming[node_id]], "Next": run_state}
            ]
            if len(self.adj.incoming[node_id]) > 1
            else [{**_edge_taken(self.adj.incoming[node_id][0]), "Next": run_state}],
            "Default": skip_state,
        }

    def _task(self, node: Node, next_state: str) -> dict[str, Any]:
        return {
            "Type": "Task",
            "Resource": self.targets.node_functions[node.type.value],
            "Parameters": {
                "node": {
                    "id": node.id,
                    "type": node.type.value,
                    "title": node.title,
                    "config": json.dumps(node.config, ensure_ascii=False, sort_keys=True),
                },
                "run.$": "$.run",
                "trigger.$": "$.trigger",
                "sys.$": "$.sys",
                "vars.$": "$.vars",
            },
            "ResultPath": f"$.vars.{state_key(node.id)}",
            "Retry": [_SERVICE_RETRY],
            "Next": next_state,
        }


def _end_at_done(states: dict[str, Any]) -> None:
    """Let states that would go to DONE end the branch instead; keep DONE only as the
    target of a guard's Default (a Choice cannot end a branch itself)."""
    for state in states.values():
        if state.get("Next") == DONE:
            del state["Next"]
            state["End"] = True
    if any(state.get("Default") == DONE for state in states.values()):
        states[DONE] = {"Type": "Pass", "End": True}


def _edge_taken(edge: Edge) -> dict[str, Any]:
    ran = {"Variable": f"$.vars.{state_key(edge.source)}", "IsPresent": True}
    if edge.source_handle is None:
        return ran
    chose = {
        "Variable": f"$.vars.{state_key(edge.source)}.handle",
        "StringEquals": edge.source_handle,
    }
    return {"And": [ran, chose]}


def _task_name(node_id: str) -> str:
    return _state_name(node_id)


def _guard_name(node_id: str) -> str:
    return _state_name(node_id, "Runs? ")


def _state_name(node_id: str, prefix: str = "") -> str:
    # State names are limited to 80 characters; long ids keep a unique readable head.
    name = prefix + node_id
    if len(name) <= 80:
        return name
    return f"{name[:60]}~{hashlib.sha256(node_id.encode()).hexdigest()[:16]}"
