"""Property-based differential test: random graphs, compiled and executed under moto,
must behave exactly as the reference evaluator (tests/integration/reference.py) says.

Each generated graph mixes chains, fan-out/fan-in, crossing DAGs, nested branches,
iterations and failing nodes with every error strategy. CI runs 2 x 100 examples;
`HYPOTHESIS_PROFILE=slow` runs many more.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.core.model.run import EventType, RunStatus
from functions.core.model.workflow import Edge, ErrorStrategy, Graph, Node, NodeType
from tests.integration import graph_runs
from tests.integration.reference import evaluate

settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "slow",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

FLAGS = [f"f{i}" for i in range(4)]


@st.composite
def graphs(draw: st.DrawFn, *, with_failures: bool) -> tuple[Graph, dict[str, Any]]:
    size = draw(st.integers(min_value=2, max_value=9))
    nodes = [Node(id="n0", type=NodeType.TOOL, config={"tool": "echo", "input": {"i": 0}})]
    edges: list[Edge] = []
    kinds = ["echo", "echo", "if"] + (["fail", "iteration"] if with_failures else ["iteration"])
    for i in range(1, size):
        sources = draw(
            st.lists(st.integers(min_value=0, max_value=i - 1), min_size=1, max_size=3, unique=True)
        )
        kind = draw(st.sampled_from(kinds))
        node_id = f"n{i}"
        quoted = sources[0]
        if kind == "if":
            flag = draw(st.sampled_from(FLAGS))
            nodes.append(
                Node(
                    id=node_id,
                    type=NodeType.IF_ELSE,
                    config={"expression": f"{{{{trigger.data.{flag}}}}} == true"},
                )
            )
        elif kind == "fail":
            strategy = draw(st.sampled_from([None, *ErrorStrategy]))
            nodes.append(
                Node(
                    id=node_id,
                    type=NodeType.TOOL,
                    config={"tool": "json_path"},
                    error_strategy=strategy,
                    default_outputs={"result": f"default {i}"}
                    if strategy is ErrorStrategy.DEFAULT_VALUE
                    else {},
                )
            )
        elif kind == "iteration":
            nodes += [
                Node(
                    id=node_id,
                    type=NodeType.ITERATION,
                    config={
                        "iterator_selector": ["trigger", "data", "items"],
                        "output_selector": [f"{node_id}b", "result"],
                    },
                ),
                Node(id=f"{node_id}s", type=NodeType.ITERATION_START, parent=node_id),
                Node(
                    id=f"{node_id}b",
                    type=NodeType.TOOL,
                    parent=node_id,
                    config={
                        "tool": "echo",
                        "input": {
                            "item": f"{{{{{node_id}.item}}}}",
                            "up": f"{{{{n{quoted}.result}}}}",
                        },
                    },
                ),
            ]
            edges.append(Edge(source=f"{node_id}s", target=f"{node_id}b"))
        else:
            nodes.append(
                Node(
                    id=node_id,
                    type=NodeType.TOOL,
                    config={"tool": "echo", "input": {"i": i, "seen": f"{{{{n{quoted}.result}}}}"}},
                )
            )
        by_id = {n.id: n for n in nodes}
        for source in sources:
            source_node = by_id[f"n{source}"]
            handle: str | None = None
            if source_node.type is NodeType.IF_ELSE:
                handle = draw(st.sampled_from(["true", "false"]))
            elif source_node.error_strategy is ErrorStrategy.FAIL_BRANCH:
                handle = draw(st.sampled_from([None, "fail-branch"]))
            edges.append(Edge(source=f"n{source}", target=node_id, source_handle=handle))
    trigger = {
        "data": {
            **{flag: draw(st.booleans()) for flag in FLAGS},
            "items": draw(st.lists(st.integers(min_value=0, max_value=9), max_size=3)),
        }
    }
    return Graph(nodes=nodes, edges=edges), trigger


def _check(graph: Graph, trigger: dict[str, Any]) -> None:
    expected = evaluate(graph, "n0", trigger)
    outcome = graph_runs.run_graph(graph.nodes, graph.edges, trigger["data"])

    if expected.failed:
        assert outcome.run.status is RunStatus.FAILED, outcome.run
        assert any(f"node '{n}'" in (outcome.run.error or "") for n in expected.failed), (
            outcome.run.error,
            expected.failed,
            graph,
        )
        assert set(outcome.executed()) <= set(expected.ran)
        return
    succeeded = RunStatus.PARTIAL_SUCCEEDED if expected.handled else RunStatus.SUCCEEDED
    assert outcome.run.status is succeeded, outcome.run.error
    top_level = {n.id for n in graph.nodes if n.parent is None}
    assert set(outcome.executed()) & top_level == set(expected.ran) & top_level
    for node_id in set(expected.ran) & top_level:
        actual = outcome.outputs(node_id)
        wanted = expected.outputs[node_id]
        if "error_message" in wanted:
            assert actual["error_message"].startswith(wanted.pop("error_message"))
            actual = {k: v for k, v in actual.items() if k != "error_message"}
        assert actual == wanted, node_id
    _assert_edges_respected(outcome, graph)


def _assert_edges_respected(outcome: graph_runs.Outcome, graph: Graph) -> None:
    started = {e.node_id: e.seq for e in outcome.events if e.type is EventType.NODE_STARTED}
    finished = {e.node_id: e.seq for e in outcome.events if e.type is EventType.NODE_FINISHED}
    for edge in graph.edges:
        if (
            edge.source in finished
            and edge.target in started
            and graph.node(edge.target).parent is None
        ):
            assert finished[edge.source] < started[edge.target], edge.key


@pytest.mark.usefixtures("local_aws")
@given(case=graphs(with_failures=False))
def test_random_dags_match_the_reference(case: tuple[Graph, dict[str, Any]]) -> None:
    _check(*case)


@pytest.mark.usefixtures("local_aws")
@given(case=graphs(with_failures=True))
def test_random_graphs_with_failures_match_the_reference(
    case: tuple[Graph, dict[str, Any]],
) -> None:
    _check(*case)
