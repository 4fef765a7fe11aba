"""A reference evaluator of workflow graph semantics, written for the tests only.

It walks the graph in plain Python, with Dify's rule for skips (a node runs when at least
one incoming edge was taken), and gives what each node must have seen and produced. The
differential test compares it with the compiled state machine executed by moto. It knows
only the node kinds the generated graphs use: echo tools, failing tools, if/else on trigger
data and iterations of an echo body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from functions.core.expressions import conditions
from functions.core.expressions.templates import Selector, dig, render, single_reference
from functions.core.model.workflow import (
    BODY_START_TYPES,
    FAIL_BRANCH_HANDLE,
    ErrorStrategy,
    Graph,
    Node,
    NodeType,
)


@dataclass
class Expected:
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    ran: list[str] = field(default_factory=list)
    # Nodes that fail without an error strategy. Concurrent branches may still run after
    # one of them fails, so the evaluator goes on and the test treats `ran` as a bound.
    failed: list[str] = field(default_factory=list)
    # Nodes that failed and whose error strategy let the run go on (partial success).
    handled: list[str] = field(default_factory=list)


def evaluate(graph: Graph, entry: str, trigger: dict[str, Any]) -> Expected:
    expected = Expected()
    handles: dict[str, str | None] = {}
    _scope(
        graph,
        members=[n for n in graph.nodes if n.parent is None],
        entry=entry,
        trigger=trigger,
        expected=expected,
        handles=handles,
    )
    return expected


def _scope(
    graph: Graph,
    *,
    members: list[Node],
    entry: str,
    trigger: dict[str, Any],
    expected: Expected,
    handles: dict[str, str | None],
) -> None:
    ids = {n.id for n in members}
    remaining = list(members)
    done: set[str] = set()
    while remaining:
        ready = next(
            n
            for n in remaining
            if all(e.source in done for e in graph.edges if e.target == n.id and e.source in ids)
        )
        remaining.remove(ready)
        done.add(ready.id)
        incoming = [e for e in graph.edges if e.target == ready.id]
        if ready.id != entry and not any(_taken(graph, e, expected, handles) for e in incoming):
            continue
        if ready.type in BODY_START_TYPES:
            expected.outputs[ready.id] = {}
            continue
        _run(graph, ready, trigger, expected, handles)


def _taken(graph: Graph, edge: Any, expected: Expected, handles: dict[str, str | None]) -> bool:
    if edge.source not in expected.outputs:
        return False
    source = graph.node(edge.source)
    if source.type in BODY_START_TYPES:
        return True
    return handles.get(edge.source) == edge.source_handle


def _lookup(expected: Expected, trigger: dict[str, Any]) -> Any:
    def lookup(selector: Selector) -> Any:
        if selector[0] == "trigger":
            return dig(trigger, selector[1:])
        return dig(expected.outputs.get(selector[0]), selector[1:])

    return lookup


def _resolve(value: Any, lookup: Any) -> Any:
    if isinstance(value, str):
        selector = single_reference(value)
        return lookup(selector) if selector else render(value, lookup)
    if isinstance(value, dict):
        return {k: _resolve(v, lookup) for k, v in value.items()}
    return value


def _run(
    graph: Graph,
    node: Node,
    trigger: dict[str, Any],
    expected: Expected,
    handles: dict[str, str | None],
) -> None:
    lookup = _lookup(expected, trigger)
    expected.ran.append(node.id)
    handle: str | None = None
    if node.type is NodeType.IF_ELSE:
        outcome = conditions.evaluate(conditions.parse(node.config["expression"]), lookup)
        outputs: dict[str, Any] = {"result": outcome}
        handle = "true" if outcome else "false"
    elif node.type is NodeType.ITERATION:
        items = lookup(tuple(node.config["iterator_selector"])) or []
        body = [n for n in graph.nodes if n.parent == node.id]
        start = next(n.id for n in body if n.type in BODY_START_TYPES)
        collected = []
        for index, item in enumerate(items):
            expected.outputs[node.id] = {"item": item, "index": index}
            _scope(
                graph,
                members=body,
                entry=start,
                trigger=trigger,
                expected=expected,
                handles=handles,
            )
            out_node, *path = node.config["output_selector"]
            collected.append(dig(expected.outputs.get(out_node), tuple(path)))
        outputs = {"output": collected, "result": collected}
    elif node.config.get("tool") == "echo":
        outputs = {"result": _resolve(node.config.get("input", {}), lookup)}
    else:
        error = {
            "error_message": "input.path is required",
            "error_type": "ToolInputError",
        }
        if node.error_strategy is None:
            expected.failed.append(node.id)
            return
        expected.handled.append(node.id)
        if node.error_strategy is ErrorStrategy.FAIL_BRANCH:
            handle = FAIL_BRANCH_HANDLE
            outputs = error
        elif node.error_strategy is ErrorStrategy.DEFAULT_VALUE:
            outputs = {**node.default_outputs, **error}
        else:
            outputs = {**error, "result": None}
    expected.outputs[node.id] = outputs
    handles[node.id] = handle
