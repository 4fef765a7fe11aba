"""Compile time, state count and definition size for random workflow graphs.

    python -m bench.compile_cost

Graphs mix chains, fan-out/fan-in and if/else branches, as a canvas user draws them.
The last line is the growth exponent from 1,000 to 5,000 nodes, log(t5000 / t1000) / log 5,
against its goal (issue 13 item 6: at most 1.2, i.e. close to linear).
"""

from __future__ import annotations

import json
import math
import random
import statistics
import time

from functions.core.model.workflow import Edge, Graph, Node, NodeType
from functions.wiring import node_reads
from statemachines.compiler import Targets, compile_workflow

TARGETS = Targets(
    node_functions={
        t.value: f"arn:aws:lambda:us-east-1:123456789012:function:n-{t.value}" for t in NodeType
    },
    runs_function="arn:aws:lambda:us-east-1:123456789012:function:runs",
)
EXPONENT_GOAL = 1.2


def random_graph(size: int, seed: int) -> Graph:
    """A DAG where each new node hangs off 1-2 earlier nodes; 1 in 8 is an if/else."""
    rng = random.Random(seed)
    nodes = [Node(id="n0", type=NodeType.TOOL, config={"tool": "echo", "input": {"i": 0}})]
    edges: list[Edge] = []
    for i in range(1, size):
        kind = NodeType.IF_ELSE if rng.random() < 0.125 else NodeType.TOOL
        config = (
            {"expression": "{{trigger.data.x}} > 1"}
            if kind is NodeType.IF_ELSE
            else {"tool": "echo"}
        )
        nodes.append(Node(id=f"n{i}", type=kind, config=config))
        window = max(0, i - 8)
        for source in rng.sample(range(window, i), k=min(i - window, rng.choice((1, 1, 2)))):
            handle = (
                rng.choice(("true", "false")) if nodes[source].type is NodeType.IF_ELSE else None
            )
            edges.append(Edge(source=f"n{source}", target=f"n{i}", source_handle=handle))
    return Graph(nodes=nodes, edges=edges)


def count_states(states: dict[str, object]) -> int:
    total = 0
    for state in states.values():
        total += 1
        assert isinstance(state, dict)
        for branch in state.get("Branches", []):
            total += count_states(branch["States"])
        if "ItemProcessor" in state:
            total += count_states(state["ItemProcessor"]["States"])
    return total


def main() -> None:
    print(
        f"{'nodes':>6} {'compile ms (median of 5)':>25} {'states':>8} {'states/node':>12}"
        f" {'bytes':>10} {'bytes/node':>11}"
    )
    medians: dict[int, float] = {}
    for size in (10, 100, 1000, 5000):
        graph = random_graph(size, seed=size)
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            # As deployments compile: each task given only the states its config reads.
            definition = compile_workflow(graph, entry="n0", targets=TARGETS, reads=node_reads)
            timings.append((time.perf_counter() - started) * 1000)
        medians[size] = statistics.median(timings)
        states = count_states(definition["States"])
        size_bytes = len(json.dumps(definition).encode())
        print(
            f"{size:>6} {medians[size]:>25.1f} {states:>8} {states / size:>12.2f}"
            f" {size_bytes:>10,} {size_bytes / size:>11.0f}"
        )
    exponent = math.log(medians[5000] / medians[1000]) / math.log(5)
    print(
        f"growth exponent 1,000 -> 5,000 nodes: measured {exponent:.2f}, goal <= "
        f"{EXPONENT_GOAL} (ratio {exponent / EXPONENT_GOAL:.2f})"
    )


if __name__ == "__main__":
    main()
