"""State transitions per executed node, read from moto's execution history.

    python -m bench.transitions

Standard workflows are billed per state transition, so every state the compiler adds
beyond one Task per node costs money. Shapes: a 10-node chain, a node fanning out to 10
concurrent nodes that join again, an if-else of 5 nodes of which 4 run (either branch),
iterations (3 items over a 10-node body, 10 items over a 3-node body) and a loop of 5
rounds over a 3-node body. Each row is set against the budget of DESIGN.md §4, 1.05
transitions per executed node plus 2 per run: `ratio` ≤ 1.00 meets it.
"""

from __future__ import annotations

import time
from typing import Any

import boto3

from functions.core.data import runs as run_store
from functions.core.model.run import EventType
from functions.core.model.workflow import Draft, Edge, Graph, Node, NodeType
from functions.core.services import runs, workflows
from local import aws

TENANT = "bench"
# The budget (DESIGN.md §4): per executed node, and per run.
PER_NODE = 1.05
PER_RUN = 2


def echo(node_id: str, parent: str | None = None) -> Node:
    return Node(
        id=node_id,
        type=NodeType.TOOL,
        parent=parent,
        config={"tool": "echo", "input": {"id": node_id}},
    )


def chain(size: int) -> Graph:
    nodes = [echo(f"n{i}") for i in range(size)]
    return Graph(
        nodes=nodes, edges=[Edge(source=f"n{i}", target=f"n{i + 1}") for i in range(size - 1)]
    )


def fan_out(width: int) -> Graph:
    nodes = [echo("fork"), *(echo(f"b{i}") for i in range(width)), echo("join")]
    edges = [Edge(source="fork", target=f"b{i}") for i in range(width)]
    edges += [Edge(source=f"b{i}", target="join") for i in range(width)]
    return Graph(nodes=nodes, edges=edges)


def iteration(items: int, body: int) -> tuple[Graph, dict[str, Any]]:
    nodes = [
        echo("source"),
        Node(
            id="each",
            type=NodeType.ITERATION,
            config={
                "iterator_selector": ["trigger", "data", "items"],
                "output_selector": [f"s{body - 1}", "result"],
            },
        ),
        Node(id="each_start", type=NodeType.ITERATION_START, parent="each"),
        *(echo(f"s{i}", parent="each") for i in range(body)),
    ]
    edges = [Edge(source="source", target="each"), Edge(source="each_start", target="s0")]
    edges += [Edge(source=f"s{i}", target=f"s{i + 1}") for i in range(body - 1)]
    return Graph(nodes=nodes, edges=edges), {"items": list(range(items))}


def if_else() -> Graph:
    """a -> check -> yes | no -> join: 5 nodes, 4 of which run whichever branch is taken."""
    check = Node(
        id="check", type=NodeType.IF_ELSE, config={"expression": "{{trigger.data.go}} == 1"}
    )
    nodes = [echo("a"), check, echo("yes"), echo("no"), echo("join")]
    edges = [
        Edge(source="a", target="check"),
        Edge(source="check", target="yes", source_handle="true"),
        Edge(source="check", target="no", source_handle="false"),
        Edge(source="yes", target="join"),
        Edge(source="no", target="join"),
    ]
    return Graph(nodes=nodes, edges=edges)


def loop(rounds: int) -> Graph:
    """A loop adding 1 to its variable until it reaches `rounds`, over a 3-node body."""
    counter = Node(
        id="count",
        type=NodeType.LOOP,
        config={
            "loop_count": rounds + 1,
            "loop_variables": [
                {"label": "n", "var_type": "number", "value_type": "constant", "value": 0}
            ],
            "break_conditions": [
                {
                    "variable_selector": ["count", "n"],
                    "comparison_operator": "≥",
                    "value": str(rounds),
                }
            ],
        },
    )
    add = Node(
        id="add",
        type=NodeType.ASSIGNER,
        parent="count",
        config={
            "items": [
                {
                    "variable_selector": ["count", "n"],
                    "input_type": "constant",
                    "operation": "+=",
                    "value": 1,
                }
            ]
        },
    )
    nodes = [
        echo("source"),
        counter,
        Node(id="count_start", type=NodeType.LOOP_START, parent="count"),
        add,
        echo("l1", parent="count"),
        echo("l2", parent="count"),
    ]
    edges = [
        Edge(source="source", target="count"),
        Edge(source="count_start", target="add"),
        Edge(source="add", target="l1"),
        Edge(source="l1", target="l2"),
    ]
    return Graph(nodes=nodes, edges=edges)


def measure(name: str, graph: Graph, data: Any = None) -> None:
    workflow = workflows.create(TENANT, Draft(name=name, graph=graph, entry=graph.nodes[0].id))
    run = runs.start(TENANT, workflow["id"], data)
    while not (record := run_store.get(run.id)) or not record.status.finished:
        time.sleep(0.05)
    history = boto3.client("stepfunctions").get_execution_history(
        executionArn=run.execution_arn, maxResults=1000
    )["events"]
    transitions = sum(1 for e in history if e["type"].endswith("StateEntered"))
    executed = sum(1 for e in run_store.events(run.id) if e.type is EventType.NODE_STARTED)
    budget = PER_NODE * executed + PER_RUN
    print(
        f"{name:<24} {record.status.value:<10} nodes run {executed:>3}"
        f"  transitions {transitions:>4}"
        f"  per node {transitions / executed:>5.2f}  overhead {transitions - executed:>3}"
        f"  budget {budget:>6.1f}  ratio {transitions / budget:>5.2f}"
    )


def main() -> None:
    world = aws.start()
    try:
        measure("chain of 10", chain(10))
        measure("fan-out of 10 + join", fan_out(10))
        measure("if-else, 4 of 5 (true)", if_else(), {"go": 1})
        measure("if-else, 4 of 5 (false)", if_else(), {"go": 0})
        graph, data = iteration(3, 10)
        measure("iteration 3 x 10", graph, data)
        graph, data = iteration(10, 3)
        measure("iteration 10 x 3", graph, data)
        measure("loop 5 rounds x 3", loop(5))
    finally:
        world.stop()


if __name__ == "__main__":
    main()
