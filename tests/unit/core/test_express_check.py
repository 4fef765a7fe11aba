"""The Express check: a workflow's worst case along its longest path, against 5 minutes."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from functions.core.model import express
from functions.core.model.workflow import Edge, Graph, Node, NodeType, RetryPolicy

# Every function allows 10 s, the runs function (the finalize) 20 s.
LIMITS = express.Limits(function_seconds=lambda _: 10, runs_seconds=20)


def _node(node_id: str, kind: NodeType = NodeType.TEMPLATE_TRANSFORM, **fields: Any) -> Node:
    return Node(id=node_id, type=kind, **fields)


def _chain(*nodes: Node) -> Graph:
    top = [n for n in nodes if n.parent is None]
    edges = [Edge(source=a.id, target=b.id) for a, b in pairwise(top)]
    return Graph(nodes=list(nodes), edges=edges)


def _seconds(graph: Graph) -> float:
    """The worst case, checked to be refused exactly when it exceeds the limit."""
    seconds = express.worst_seconds(graph, LIMITS)
    assert bool(express.problems(graph, LIMITS)) is (seconds > express.MAX_SECONDS)
    return seconds


def test_a_chain_within_five_minutes_fits_and_one_over_is_refused_naming_its_nodes() -> None:
    fits = [_node(f"n{i}") for i in range(28)]  # 28 x 10 + 20 = 300
    assert express.problems(_chain(*fits), LIMITS) == []
    (problem,) = express.problems(_chain(*fits, _node("n28")), LIMITS)
    assert problem.where == "executionMode"
    assert "310 seconds, over Express's 300" in problem.reason
    assert "node 'n0' 10s" in problem.reason


def test_a_node_timeout_replaces_its_function_timeout_and_retries_multiply_it() -> None:
    slow = _node("slow", timeout_seconds=280)
    assert _seconds(_chain(slow)) == 280 + 20
    retried = _node(
        "retried",
        timeout_seconds=30,
        retry=RetryPolicy(max_retries=2, interval_seconds=2, backoff_rate=2),
    )
    # 3 attempts of 30 s and the waits between them (2 s, then 4 s), then the finalize.
    graph = _chain(retried, _node("pad", timeout_seconds=200))
    assert _seconds(graph) == 90 + 2 + 4 + 200 + 20


def test_only_the_longest_branch_counts() -> None:
    nodes = [_node("a"), _node("short"), _node("long", timeout_seconds=250), _node("z")]
    edges = [
        Edge(source="a", target="short"),
        Edge(source="a", target="long"),
        Edge(source="short", target="z"),
        Edge(source="long", target="z"),
    ]
    assert _seconds(Graph(nodes=nodes, edges=edges)) == 10 + 250 + 10 + 20


def test_a_loop_counts_its_rounds_and_their_checks() -> None:
    loop = _node("loop", NodeType.LOOP, config={"loop_count": 5})
    body = [
        _node("ls", NodeType.LOOP_START, parent="loop"),
        _node("step", parent="loop", timeout_seconds=5),
    ]
    graph = Graph(nodes=[loop, *body], edges=[Edge(source="ls", target="step")])
    assert _seconds(graph) == 10 + 5 * (5 + 10) + 20  # init, each round and its check
    loop.config["loop_count"] = 20
    assert _seconds(graph) == 10 + 20 * (5 + 10) + 20


@pytest.mark.parametrize(
    ("config", "seconds"),
    [
        # In order: every one of the 40 items runs the body (5 s) after the other.
        ({}, 2 * 10 + express.MAX_ITEMS * 5 + 20),
        # 10 at a time: 4 rounds.
        ({"is_parallel": True, "parallel_nums": 10}, 2 * 10 + 4 * 5 + 20),
    ],
)
def test_an_iteration_is_bounded_by_its_items_and_concurrency(
    config: dict[str, Any], seconds: float
) -> None:
    iteration = _node("it", NodeType.ITERATION, config=config)
    body = [
        _node("is", NodeType.ITERATION_START, parent="it"),
        _node("each", parent="it", timeout_seconds=5),
    ]
    graph = Graph(nodes=[iteration, *body], edges=[Edge(source="is", target="each")])
    assert _seconds(graph) == seconds


def test_a_step_looped_over_a_list_runs_its_items_in_order() -> None:
    looped = _node("each", NodeType.TOOL, loop="{{a.result}}", timeout_seconds=5)
    assert _seconds(_chain(_node("a"), looped)) == 10 + 2 * 10 + express.MAX_ITEMS * 5 + 20


def test_a_condition_and_an_error_strategy_add_their_tasks() -> None:
    plain = _seconds(_chain(*[_node(f"n{i}", timeout_seconds=50) for i in range(6)]))
    assert plain == 320
    guarded = _node("g", timeout_seconds=250, condition="1 == 1", error_strategy="continue")
    # Its condition (the if-else function's 10 s) and its recover task (the runs function).
    assert _seconds(_chain(guarded)) == 250 + 10 + 20 + 20


def test_quiet_errors_are_the_two_an_express_task_ends_its_execution_with() -> None:
    assert express.quiet({"Error": "RunEnded"}) and express.quiet({"Error": "DuplicateExecution"})
    assert not express.quiet({"Error": "States.TaskFailed"})
    with pytest.raises(express.DuplicateExecution, match="owned"):
        express.raise_again({"Error": "DuplicateExecution", "Cause": "owned"})
