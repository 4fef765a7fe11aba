"""The cost estimate of compiled machines: checked against the compiler's own output (and
the test interpreter's walk of it, tests/unit/statemachines/asl.py) rather than against a
hand-written expectation of today's layout, so a compiler that emits fewer states keeps
these tests meaningful. Hand-written ASL only for what the compiler may not emit."""

from __future__ import annotations

import inspect
import itertools
from typing import Any

import pytest

from functions import cost as cost_service
from functions.core.model.workflow import Edge, Graph, Node, NodeType
from functions.wiring import node_reads
from statemachines import cost
from statemachines.compiler import compile_workflow
from tests.unit.core.deploy_env import NODE_ARNS, RUNS_ARN
from tests.unit.statemachines.asl import TARGETS, graph, run

pytestmark = pytest.mark.usefixtures("deploy_env")

IF_ELSE = NodeType.IF_ELSE
FIXED = cost.FIXED_WRITES_PER_RUN


def compiled(g: Graph, entry: str | None = None) -> dict[str, Any]:
    return compile_workflow(g, entry=entry or g.nodes[0].id, targets=TARGETS, reads=node_reads)


def estimate(definition: dict[str, Any], items: int = 10, **kwargs: Any) -> cost.Spread:
    return cost.per_run(definition, cost.Assumptions(items=items, **kwargs))


def deployed() -> dict[str, cost.FunctionProfile]:
    """Each test function's ARN with its node type's profile, as the route builds them."""
    by_type = cost_service.node_profiles()
    return {arn: by_type[kind] for kind, arn in NODE_ARNS.items() if kind in by_type}


def entered(definition: dict[str, Any], handles: dict[str, str]) -> tuple[int, int]:
    """(states entered, Lambda Tasks entered) in the interpreter's run of the machine."""
    walked = run(definition, handles).visited
    states = _all_states(definition)
    return len(walked), sum(1 for name in walked if states[name]["Type"] == "Task")


def _all_states(scope: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, state in scope["States"].items():
        found[name] = state
        for branch in state.get("Branches") or []:
            found.update(_all_states(branch))
        if "ItemProcessor" in state:
            found.update(_all_states(state["ItemProcessor"]))
    return found


def echo(node_id: str, parent: str | None = None) -> Node:
    return Node(id=node_id, type=NodeType.TOOL, parent=parent, config={"tool": "echo", "input": {}})


def iteration(body: int, *, parallel: int | None = None) -> Graph:
    config: dict[str, Any] = {
        "iterator_selector": ["trigger", "data", "items"],
        "output_selector": [f"s{body - 1}", "result"],
    }
    if parallel:
        config |= {"is_parallel": True, "parallel_nums": parallel}
    nodes = [
        echo("source"),
        Node(id="each", type=NodeType.ITERATION, config=config),
        Node(id="each_start", type=NodeType.ITERATION_START, parent="each"),
        *(echo(f"s{i}", parent="each") for i in range(body)),
    ]
    edges = [Edge(source="source", target="each"), Edge(source="each_start", target="s0")]
    edges += [Edge(source=f"s{i}", target=f"s{i + 1}") for i in range(body - 1)]
    return Graph(nodes=nodes, edges=edges)


def loop(body: int) -> Graph:
    nodes = [
        echo("source"),
        Node(id="again", type=NodeType.LOOP, config={"loop_count": 5}),
        Node(id="again_start", type=NodeType.LOOP_START, parent="again"),
        *(echo(f"s{i}", parent="again") for i in range(body)),
    ]
    edges = [Edge(source="source", target="again"), Edge(source="again_start", target="s0")]
    edges += [Edge(source=f"s{i}", target=f"s{i + 1}") for i in range(body - 1)]
    return Graph(nodes=nodes, edges=edges)


# --- paths --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 5, 40])
def test_a_chain_has_one_path_and_it_is_the_one_a_run_takes(size: int) -> None:
    definition = compiled(
        graph(
            [f"n{i}" for i in range(size)], list(itertools.pairwise([f"n{i}" for i in range(size)]))
        )
    )
    found = estimate(definition)
    assert found.min == found.typical == found.max
    transitions, tasks = entered(definition, {})
    assert found.typical.transitions == transitions
    assert found.typical.lambda_requests == tasks
    assert found.typical.writes == cost.WRITES_PER_NODE_TASK * size + FIXED


def test_the_branches_of_an_if_else_are_the_cheapest_and_the_dearest_paths() -> None:
    # a -> c; c true -> t1 -> t2 -> z; c false -> f1 -> z
    g = graph(
        ["a", ("c", IF_ELSE), "t1", "t2", "f1", "z"],
        [
            ("a", "c"),
            ("c", "t1", "true"),
            ("t1", "t2"),
            ("c", "f1", "false"),
            ("t2", "z"),
            ("f1", "z"),
        ],
    )
    definition = compiled(g)
    found = estimate(definition)
    long_way, long_tasks = entered(definition, {"c": "true"})
    short_way, short_tasks = entered(definition, {"c": "false"})
    assert short_way < long_way
    # No path the machine has is cheaper or dearer than the estimate's bounds.
    assert found.min.transitions <= short_way and long_way <= found.max.transitions
    assert found.min.lambda_requests <= short_tasks and long_tasks <= found.max.lambda_requests
    assert found.min.transitions < found.typical.transitions < found.max.transitions
    # The guards of the two branches are not correlated: the bounds are those of every node
    # running once and of only the nodes no guard skips (a and c) running.
    assert 2 * 5 + FIXED <= found.max.writes <= 2 * 6 + FIXED
    assert 2 * 2 + FIXED <= found.min.writes <= 2 * 4 + FIXED


def test_every_parallel_branch_runs_and_the_slowest_sets_the_duration() -> None:
    g = graph(
        ["fork", "b0", "b1", "b2", "join"],
        [("fork", f"b{i}") for i in range(3)] + [(f"b{i}", "join") for i in range(3)],
    )
    definition = compiled(g)
    assert any(s["Type"] == "Parallel" for s in _all_states(definition).values())
    found = estimate(definition, profiles=deployed())
    transitions, tasks = entered(definition, {})
    assert found.min == found.max
    assert found.typical.transitions == transitions
    assert found.typical.lambda_requests == tasks
    assert found.typical.writes == 2 * 5 + FIXED
    # Three branches side by side take as long as one: fork, a branch, join, the finish.
    seconds = cost.task_seconds("llm")
    runs = cost.DEFAULT_PROFILE.seconds
    assert found.typical.seconds == pytest.approx(3 * seconds + runs * (tasks - 5))


def test_a_map_costs_its_body_once_per_assumed_item() -> None:
    definition = compiled(iteration(body=3))
    by_items = {n: estimate(definition, items=n).typical for n in (0, 1, 2, 7)}
    step = by_items[2].transitions - by_items[1].transitions
    # Each item enters at least its body's three Tasks; the items add up linearly.
    assert step >= 3
    assert by_items[7].transitions == by_items[1].transitions + 6 * step
    assert by_items[0].transitions == by_items[1].transitions - step
    assert by_items[7].lambda_requests - by_items[1].lambda_requests == 6 * 3
    assert by_items[7].writes - by_items[1].writes == 6 * 3 * 2
    # One item at a time: the duration grows with the items too.
    assert by_items[7].seconds > by_items[1].seconds


def test_a_parallel_map_runs_its_items_in_batches_of_its_concurrency() -> None:
    serial = estimate(compiled(iteration(body=2)), items=10, profiles=deployed()).typical
    parallel = compiled(iteration(body=2, parallel=5))
    batches_of_5 = estimate(parallel, items=10, profiles=deployed()).typical
    assert batches_of_5.transitions == serial.transitions
    body = 2 * cost.task_seconds("tool")
    assert serial.seconds - batches_of_5.seconds == pytest.approx(8 * body)


def test_a_loop_runs_the_assumed_rounds_and_its_cycle_ends() -> None:
    definition = compiled(loop(body=2))
    by_rounds = {n: estimate(definition, items=n).typical for n in (0, 1, 4)}
    step = by_rounds[1].transitions - by_rounds[0].transitions
    assert step >= 2  # at least the body's two Tasks per round
    assert by_rounds[4].transitions == by_rounds[0].transitions + 4 * step
    assert by_rounds[4].lambda_requests - by_rounds[0].lambda_requests >= 4 * 2


def test_a_cycle_through_a_choice_counts_the_head_once_per_round_and_once_to_leave() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "Again?"},
            "Again?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.more", "BooleanEquals": True, "Next": "B"}],
                "Default": "Done",
            },
            "B": {"Type": "Task", "Resource": "arn:fn:b", "Next": "Again?"},
            "Done": {"Type": "Succeed"},
        },
    }
    found = estimate(definition, items=4)
    assert found.min == found.max
    # A, Again? 5 times, B 4 times, Done.
    assert found.typical.transitions == 1 + 5 + 4 + 1
    assert found.typical.lambda_requests == 4


def test_service_integrations_waits_and_profiles_are_priced_as_what_they_are() -> None:
    definition = {
        "StartAt": "Put",
        "States": {
            "Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 2, "Next": "Call"},
            "Call": {"Type": "Task", "Resource": "arn:fn:big", "End": True},
        },
    }
    big = cost.FunctionProfile(memory_mb=2048, seconds=1.5)
    found = estimate(definition, profiles={"arn:fn:big": big}).typical
    assert found.transitions == 3
    assert found.lambda_requests == 1
    assert found.lambda_gb_seconds == pytest.approx(2 * 1.5)
    assert found.seconds == pytest.approx(2 + 1.5)


def test_a_long_chain_is_estimated_without_recursing_along_it() -> None:
    ids = [f"n{i}" for i in range(499)]
    found = estimate(compiled(graph(ids, list(itertools.pairwise(ids)))))
    assert found.typical.writes == 2 * 499 + FIXED


def test_the_item_count_is_bounded() -> None:
    with pytest.raises(ValueError, match="items"):
        estimate({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}, items=-1)
    with pytest.raises(ValueError, match="items"):
        estimate({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}, items=cost.MAX_ITEMS + 1)


# --- prices -------------------------------------------------------------------------------


def test_prices_per_1000_runs_follow_the_list_prices() -> None:
    usage = cost.Usage(
        transitions=10, lambda_requests=4, lambda_gb_seconds=2.0, writes=20, seconds=0.25
    )
    standard = cost.price_per_1000(usage, "standard")
    express = cost.price_per_1000(usage, "express")
    assert standard.step_functions == pytest.approx(10 * 0.025)
    assert standard.lambda_ == pytest.approx(1000 * (4 * 0.20 / 1e6 + 2.0 * 0.0000133334))
    assert cost.price_per_1000(usage, "standard", "x86_64").lambda_ == pytest.approx(
        1000 * (4 * 0.20 / 1e6 + 2.0 * 0.0000166667)
    )
    assert standard.dynamodb == pytest.approx(1000 * 20 * 1.25 / 1e6)
    # Express: a request, and 0.25 s billed as 0.3 s of 64 MB.
    assert express.step_functions == pytest.approx(1000 * (1e-6 + 0.3 * 64 / 1024 * 0.00001667))
    assert express.lambda_ == standard.lambda_
    # And one more write: the execution's claim of its run.
    assert express.dynamodb == pytest.approx(1000 * 21 * 1.25 / 1e6)
    assert standard.total == pytest.approx(
        standard.step_functions + standard.lambda_ + standard.dynamodb
    )


def test_the_assumed_memory_and_architecture_are_those_infra_deploys() -> None:
    # CDK only for this check.
    from functions.nodes.catalog import NODES
    from infra import lambda_asset, sandbox
    from infra.lambda_function import ServiceFunction

    assert lambda_asset.ARCHITECTURE.name == cost.DEPLOYED_ARCHITECTURE
    assert cost_service.SANDBOX_MEMORY_MB == sandbox.SANDBOX_MEMORY_MB
    default = inspect.signature(ServiceFunction.__init__).parameters["memory_size"].default
    assert default == cost_service.RUNS_FUNCTION_MEMORY_MB
    profiles = cost_service.node_profiles()
    assert {t: p.memory_mb for t, p in profiles.items()} == {
        t.value: spec.memory for t, spec in NODES.items()
    }
    assert profiles["code"].extra_requests == 1
    assert set(NODE_ARNS) >= set(profiles) and RUNS_ARN
