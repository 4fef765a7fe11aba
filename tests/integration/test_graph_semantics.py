"""Each engine rule of the compiler issue, by example, executed under moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from functions.core.data import table as table_module
from functions.core.errors import InvalidWorkflow
from functions.core.model.run import RunStatus, StepStatus
from functions.core.model.workflow import Node
from functions.core.settings import get_settings
from local.aws import LocalAws
from tests.integration.conftest import reachable_stub
from tests.integration.graph_runs import echo, edge, node, run_graph

pytestmark = pytest.mark.usefixtures("local_aws")

MEGABYTE = 1024 * 1024


@pytest.fixture
def megabyte_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """GET /<n> answers "<n>" followed by a megabyte of "x"."""
    canned = {f"/{n}": (200, f"{n}" + "x" * MEGABYTE) for n in range(5)}
    with reachable_stub(monkeypatch, canned) as base_url:
        yield base_url


def _definition(workflow: dict[str, Any]) -> dict[str, Any]:
    answer = boto3.client("stepfunctions", region_name="us-east-1").describe_state_machine(
        stateMachineArn=workflow["stateMachineArn"]
    )
    definition: dict[str, Any] = json.loads(answer["definition"])
    return definition


def _top_level(workflow: dict[str, Any]) -> dict[str, Any]:
    states: dict[str, Any] = _definition(workflow)["States"]
    return states


def _states(workflow: dict[str, Any]) -> dict[str, Any]:
    """Every state of the machine, nested ones included, by name."""
    found: dict[str, Any] = {}

    def walk(states: dict[str, Any]) -> None:
        for name, state in states.items():
            found[name] = state
            for branch in state.get("Branches", []):
                walk(branch["States"])
            if "ItemProcessor" in state:
                walk(state["ItemProcessor"]["States"])

    walk(_definition(workflow)["States"])
    return found


def test_fan_out_runs_concurrently_and_the_join_sees_every_branch() -> None:
    outcome = run_graph(
        [
            echo("a", v=1),
            echo("b", v="{{a.result.v}}b"),
            echo("c", v="{{a.result.v}}c"),
            echo("d", v="d"),
            echo("join", all="{{b.result.v}}{{c.result.v}}{{d.result.v}}"),
        ],
        [
            edge("a", "b"),
            edge("a", "c"),
            edge("a", "d"),
            edge("b", "join"),
            edge("c", "join"),
            edge("d", "join"),
        ],
    )
    assert outcome.run.status is RunStatus.SUCCEEDED
    assert outcome.outputs("join")["result"] == {"all": "1b1cd"}
    assert outcome.executed().count("join") == 1
    top = _top_level(outcome.workflow)
    assert top["a"]["Next"] == "Parallel after a"
    assert not {"b", "c", "d"} & set(top), "the branches run inside the Parallel"
    # The Parallel merges its branches itself (ResultSelector): no merge state.
    assert top["Parallel after a"]["Next"] == "join"


def test_crossing_dependencies_run_completely_in_topological_order() -> None:
    # a -> b, a -> c, b -> d, c -> d, b -> c: not series-parallel.
    outcome = run_graph(
        [
            echo("a", v="a"),
            echo("b", v="{{a.result.v}}b"),
            echo("c", v="{{b.result.v}}c"),
            echo("d", v="{{c.result.v}}{{b.result.v}}"),
        ],
        [edge("a", "b"), edge("a", "c"), edge("b", "d"), edge("c", "d"), edge("b", "c")],
    )
    assert outcome.executed() == ["a", "b", "c", "d"]
    assert outcome.outputs("d")["result"] == {"v": "abcab"}


def test_merge_runs_when_any_incoming_path_was_taken_and_skips_when_none() -> None:
    nodes = [
        node("check", "if-else", expression="{{trigger.data.x}} > 0"),
        echo("yes", v="yes"),
        echo("no", v="no"),
        echo("only_yes", v="{{yes.result.v}}"),
        echo("merge", v="{{yes.result.v}}{{no.result.v}}"),
    ]
    edges = [
        edge("check", "yes", "true"),
        edge("check", "no", "false"),
        edge("yes", "only_yes"),
        edge("yes", "merge"),
        edge("no", "merge"),
    ]
    positive = run_graph(nodes, edges, {"x": 1})
    negative = run_graph(nodes, edges, {"x": -1})
    assert positive.executed() == ["check", "yes", "only_yes", "merge"]
    assert negative.executed() == ["check", "no", "merge"]
    assert negative.outputs("merge")["result"] == {"v": "no"}


def test_branches_inside_a_parallel_region_skip_independently() -> None:
    outcome = run_graph(
        [
            echo("start"),
            node("c1", "if-else", expression="{{trigger.data.left}} == true"),
            node("c2", "if-else", expression="{{trigger.data.right}} == true"),
            echo("l"),
            echo("r"),
            echo("end", left="{{l.result}}", right="{{r.result}}"),
        ],
        [
            edge("start", "c1"),
            edge("start", "c2"),
            edge("c1", "l", "true"),
            edge("c2", "r", "true"),
            edge("l", "end"),
            edge("r", "end"),
        ],
        {"left": True, "right": False},
    )
    assert set(outcome.executed()) == {"start", "c1", "c2", "l", "end"}
    assert outcome.outputs("end")["result"] == {"left": {}, "right": None}


def test_a_node_whose_every_input_was_skipped_is_skipped_with_its_successors() -> None:
    outcome = run_graph(
        [
            node("check", "if-else", expression="{{trigger.data.go}} == true"),
            echo("a"),
            echo("b"),
            echo("c"),
        ],
        [edge("check", "a", "true"), edge("a", "b"), edge("b", "c")],
        {"go": False},
    )
    assert outcome.run.status is RunStatus.SUCCEEDED
    assert outcome.executed() == ["check"]


ITERATION = [
    echo("source", items=[1, 2, 3]),
    node(
        "loop",
        "iteration",
        iterator_selector=["source", "result", "items"],
        output_selector=["double", "result"],
        is_parallel=True,
        parallel_nums=2,
    ),
    node("loop_start", "iteration-start", parent="loop"),
    echo("double", parent="loop", item="{{loop.item}}", index="{{loop.index}}"),
    echo("after", out="{{loop.output}}"),
]
ITERATION_EDGES = [edge("source", "loop"), edge("loop_start", "double"), edge("loop", "after")]


def test_iteration_maps_the_body_over_items_in_order() -> None:
    outcome = run_graph(ITERATION, ITERATION_EDGES)
    assert outcome.run.status is RunStatus.SUCCEEDED, outcome.run.error
    expected = [{"item": i, "index": i - 1} for i in (1, 2, 3)]
    assert outcome.outputs("loop")["output"] == expected
    assert outcome.outputs("after")["result"] == {"out": expected}
    assert outcome.executed().count("double") == 3
    maps = [s for s in _states(outcome.workflow).values() if s["Type"] == "Map"]
    assert [m["MaxConcurrency"] for m in maps] == [2]


def test_iteration_flattens_lists_and_handles_failing_items() -> None:
    # The middle item has no path, so json_path fails for it.
    body = node(
        "body",
        "tool",
        parent="it",
        tool="json_path",
        input={"data": "{{it.item.data}}", "path": "{{it.item.path}}"},
    )
    items = [
        {"data": {"v": [1, 2]}, "path": "$.v"},
        {"data": {}, "path": ""},
        {"data": {"v": [4]}, "path": "$.v"},
    ]

    def iteration(**mode: str) -> list[Node]:
        return [
            echo("src", items=items),
            node(
                "it",
                "iteration",
                iterator_selector=["src", "result", "items"],
                output_selector=["body", "result"],
                **mode,
            ),
            node("it_start", "iteration-start", parent="it"),
            body,
        ]

    edges = [edge("src", "it"), edge("it_start", "body")]
    kept = run_graph(iteration(error_handle_mode="continue-on-error"), edges)
    assert kept.outputs("it")["output"] == [[1, 2], None, [4]]
    removed = run_graph(iteration(error_handle_mode="remove-abnormal-output"), edges)
    assert removed.outputs("it")["output"] == [1, 2, 4]
    # An item failed and the run went on: as Dify says, the run partially succeeded.
    assert kept.run.status is removed.run.status is RunStatus.PARTIAL_SUCCEEDED
    terminated = run_graph(iteration(), edges)
    assert terminated.run.status is RunStatus.FAILED
    assert "input.path is required" in (terminated.run.error or "")


# Saved (json_path is a tool), fails at run (no path to read).
FAILING = {"tool": "json_path"}


def test_fail_branch_takes_the_fail_edge_with_error_outputs() -> None:
    outcome = run_graph(
        [
            node("risky", "tool", error_strategy="fail-branch", **FAILING),
            echo("ok"),
            echo("handler", message="{{risky.error_message}}", kind="{{risky.error_type}}"),
        ],
        [edge("risky", "ok"), edge("risky", "handler", "fail-branch")],
    )
    # Dify's status for a run that went on past a failure.
    assert outcome.run.status is RunStatus.PARTIAL_SUCCEEDED
    assert outcome.executed() == ["risky", "handler"]
    assert outcome.finished()["risky"].status is StepStatus.EXCEPTION
    handled = outcome.outputs("handler")["result"]
    assert "input.path is required" in handled["message"] and handled["kind"] == "ToolInputError"


def test_default_value_and_continue_strategies_go_on() -> None:
    outcome = run_graph(
        [
            node(
                "risky",
                "tool",
                error_strategy="default-value",
                default_outputs={"result": "fallback"},
                **FAILING,
            ),
            node("lenient", "tool", error_strategy="continue", **FAILING),
            echo("next", got="{{risky.result}}", error="{{lenient.error_type}}"),
        ],
        [edge("risky", "lenient"), edge("lenient", "next")],
    )
    assert outcome.run.status is RunStatus.PARTIAL_SUCCEEDED
    assert outcome.outputs("next")["result"] == {"got": "fallback", "error": "ToolInputError"}


def test_retries_then_fails_the_run_naming_the_node() -> None:
    outcome = run_graph(
        [
            echo("first"),
            node("flaky", "tool", retry={"max_retries": 2, "interval_seconds": 0}, **FAILING),
        ],
        [edge("first", "flaky")],
    )
    assert outcome.run.status is RunStatus.FAILED
    assert "flaky" in (outcome.run.error or "")
    assert outcome.executed().count("flaky") == 3
    assert outcome.finished()["flaky"].status is StepStatus.FAILED


def test_timeout_fails_the_node_and_names_it(local_aws: LocalAws) -> None:
    outcome = run_graph(
        [node("slow", "http-request", url="http://127.0.0.1:9/", timeout=30, timeout_seconds=1)],
        [],
    )
    assert outcome.run.status is RunStatus.FAILED
    assert outcome.finished()["slow"].status is StepStatus.FAILED


def test_big_outputs_travel_through_s3_and_every_consumer_sees_them(megabyte_server: str) -> None:
    nodes = [node(f"n{i}", "http-request", url=f"{megabyte_server}/{i}") for i in range(5)]
    nodes.append(node("check", "if-else", expression="{{n4.body}} contains 'xxx'"))
    nodes.append(echo("last", status="{{n0.status_code}}", same="{{n3.body}}"))
    edges = [edge(f"n{i}", f"n{i + 1}") for i in range(4)]
    edges += [edge("n4", "check"), edge("check", "last", "true")]
    outcome = run_graph(nodes, edges)
    assert outcome.run.status is RunStatus.SUCCEEDED, outcome.run.error
    assert outcome.outputs("last")["result"] == {"status": 200, "same": "3" + "x" * MEGABYTE}
    assert outcome.executed() == ["n0", "n1", "n2", "n3", "n4", "check", "last"]
    for event in outcome.history():
        for key in ("stateEnteredEventDetails", "stateExitedEventDetails"):
            payload = event.get(key, {}).get("input") or event.get(key, {}).get("output") or ""
            assert len(payload.encode()) < 256 * 1024
    items = table_module.table().scan()["Items"]
    assert max(len(json.dumps(item, default=str).encode()) for item in items) < 400 * 1024


def test_limits_are_refused_at_save_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_NODES", "3")
    get_settings.cache_clear()
    with pytest.raises(InvalidWorkflow, match="4 nodes exceed the limit of 3"):
        run_graph([echo(f"n{i}") for i in range(4)], [edge(f"n{i}", f"n{i + 1}") for i in range(3)])
    monkeypatch.setenv("MAX_NODES", "5000")
    get_settings.cache_clear()
    huge = "y" * 300_000
    with pytest.raises(InvalidWorkflow, match=r"compiled state machine is [\d,]+ bytes"):
        run_graph(
            [echo(f"n{i}", pad=huge) for i in range(4)],
            [edge(f"n{i}", f"n{i + 1}") for i in range(3)],
        )
    get_settings.cache_clear()


def counting_loop(start: int) -> list[Node]:
    """A loop adding 1 to its variable `n` (from `start`) until n >= 3."""
    return [
        node(
            "count",
            "loop",
            loop_count=10,
            loop_variables=[
                {"label": "n", "var_type": "number", "value_type": "constant", "value": start}
            ],
            break_conditions=[
                {"variable_selector": ["count", "n"], "comparison_operator": "≥", "value": "3"}
            ],
        ),
        node("count_start", "loop-start", parent="count"),
        node(
            "add",
            "assigner",
            parent="count",
            items=[
                {
                    "variable_selector": ["count", "n"],
                    "input_type": "constant",
                    "operation": "+=",
                    "value": 1,
                }
            ],
        ),
    ]


def test_loop_runs_its_body_until_the_break_condition_holds() -> None:
    nodes = [*counting_loop(0), echo("after", n="{{count.n}}")]
    outcome = run_graph(nodes, [edge("count_start", "add"), edge("count", "after")])
    assert outcome.run.status is RunStatus.SUCCEEDED, outcome.run.error
    assert outcome.executed().count("add") == 3
    assert outcome.outputs("after")["result"] == {"n": 3}


def test_a_loop_whose_break_condition_holds_at_once_never_runs_its_body() -> None:
    outcome = run_graph(counting_loop(5), [edge("count_start", "add")])
    assert outcome.run.status is RunStatus.SUCCEEDED, outcome.run.error
    assert "add" not in outcome.executed()
    assert outcome.outputs("count")["n"] == 5
