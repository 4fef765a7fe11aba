"""Step fields (`conditional`, `loop`, v1's `throw_on_error`): how they compile, how they
map from a v1 node, and what validation refuses.

A node's `condition` is evaluated by a Task of the if-else function followed by a Choice;
its `loop` becomes prepare (the iteration function) -> Map of the node's own Task ->
collect. Runs are checked with the interpreter of tests/unit/statemachines/asl.py, the
evaluation Task replaced by a Pass giving the outcome the test chose.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator, Mapping
from graphlib import TopologicalSorter
from typing import Any

import pytest

from functions.core.model.graph import Adjacency, ancestors
from functions.core.model.v1_format import V1Edge, V1Node, to_graph
from functions.core.model.workflow import ErrorStrategy, Graph, Node, NodeType, state_key
from functions.core.services.definitions import problems
from functions.wiring import node_reads
from statemachines import compiler
from statemachines.compiler import CompileError, Targets, compile_workflow
from tests.unit.core.deploy_env import NODE_ARNS, RUNS_ARN
from tests.unit.statemachines.asl import (
    TARGETS,
    body,
    check_structure,
    graph,
    guards,
    parse_with_moto,
    run,
)
from tests.unit.statemachines.test_compiler import handle_choices, random_dag

IF = NodeType.IF_ELSE
TOOL = NodeType.TOOL


def compile_graph(g: Graph, entry: str | None = None) -> dict[str, Any]:
    definition = compile_workflow(
        g, entry=entry or g.nodes[0].id, targets=TARGETS, reads=node_reads
    )
    check_structure(definition)
    parse_with_moto(definition)
    return definition


def states(definition: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every state of the body by name, those of Parallel branches and Maps included."""
    found: dict[str, dict[str, Any]] = {}
    stack = [body(definition)]
    while stack:
        scope = stack.pop()
        for name, state in scope["States"].items():
            found[name] = state
            stack.extend(state.get("Branches", []))
            if "ItemProcessor" in state:
                stack.append(state["ItemProcessor"])
    return found


def with_fields(g: Graph, **fields: dict[str, Any]) -> Graph:
    """`g` with Node fields set per node id."""
    for node in g.nodes:
        for name, value in fields.get(node.id, {}).items():
            setattr(node, name, value)
    return g


def tool(node_id: str, **fields: Any) -> Node:
    return Node(id=node_id, type=TOOL, config={"tool": "echo", "input": {}}, **fields)


# --- conditional: shape ------------------------------------------------------------------


def test_conditional_is_an_if_else_evaluation_then_a_choice() -> None:
    g = with_fields(
        # `other` also follows `gated` so that no Parallel is formed.
        graph(
            ["a", "gated", "child", "other"],
            [("a", "gated"), ("gated", "child"), ("a", "other"), ("gated", "other")],
        ),
        gated={"condition": "{{a.result.n}} > 3", "title": "Gated"},
    )
    found = states(compile_graph(g))
    evaluate = found["Condition of gated"]
    assert evaluate["Type"] == "Task"
    assert evaluate["Resource"] == NODE_ARNS["if-else"]
    node = evaluate["Parameters"]["node"]
    assert node["id"] == "gated" and node["type"] == "llm" and node["title"] == "Gated"
    assert json.loads(node["config"]) == {"expression": "{{a.result.n}} > 3"}
    assert node["evaluates"] == "conditional"
    # What the condition reads, of a node that surely ran before it.
    assert evaluate["Parameters"]["vars"] == {"a.$": "$.vars.a"}
    # Only the handle, and not under $.vars: a skipped node must not look as if it ran.
    assert evaluate["ResultSelector"] == {"handle.$": "$.handle"}
    assert evaluate["ResultPath"] == "$.scratch"
    assert evaluate["Next"] == "Condition holds? gated"
    assert found["a"]["Next"] == "Condition of gated"
    holds = found["Condition holds? gated"]
    assert holds["Choices"] == [
        {"Variable": "$.scratch.handle", "StringEquals": "true", "Next": "gated"}
    ]
    # Skipped, it goes past everything it dominates, as a failing guard does.
    assert holds["Default"] == "other"
    assert found["gated"]["Resource"] == NODE_ARNS["llm"]
    assert "evaluates" not in found["gated"]["Parameters"]["node"]
    # What only the node leads to runs right after it and is skipped with it: no guard.
    assert found["gated"]["Next"] == "child"
    assert "Runs? child" not in found
    assert "Runs? other" not in found


def test_without_step_fields_nothing_changes() -> None:
    g = graph(["a", "b", "c"], [("a", "b"), ("b", "c")])
    plain = compile_graph(g)
    assert set(body(plain)["States"]) == {"a", "b", "c"}
    assert compile_graph(with_fields(g, b={"condition": None, "loop": None})) == plain


def test_conditional_entry_runs_or_skips_what_follows_it_without_a_guard() -> None:
    g = with_fields(graph(["a", "b"], [("a", "b")]), a={"condition": "{{trigger.data.go}}"})
    definition = compile_graph(g)
    assert definition["StartAt"] == "Condition of a"
    found = states(definition)
    assert found["Condition holds? a"]["Default"] == compiler.FINALIZE_SUCCEEDED
    assert found["a"]["Next"] == "b"
    assert "b" not in guards(definition)


def test_conditional_node_behind_a_branch_has_its_guard_first() -> None:
    g = with_fields(
        graph([("c", IF), "x", "y"], [("c", "x", "true"), ("c", "y", "false")]),
        x={"condition": "1 == 1"},
    )
    found = states(compile_graph(g))
    assert found["Runs? x"]["Choices"][0]["Next"] == "Condition of x"
    # The branch not taken to x is y's: known there, so no guard; a false condition of x
    # says nothing about the handle, so y's guard decides.
    assert found["Runs? x"]["Default"] == "y"
    assert found["Condition holds? x"]["Default"] == "Runs? y"


def test_conditional_fork_still_runs_its_branches_in_parallel_unguarded() -> None:
    g = with_fields(
        graph(
            ["a", "b", "c", "join", "after"],
            [("a", "b"), ("a", "c"), ("b", "join"), ("c", "join"), ("join", "after")],
        ),
        a={"condition": "{{trigger.data.go}}"},
    )
    definition = compile_graph(g)
    found = states(definition)
    parallel = found["Parallel after a"]
    assert parallel["Type"] == "Parallel"
    assert found["Condition holds? a"]["Choices"][0]["Next"] == "a"
    assert found["a"]["Next"] == "Parallel after a"
    # Inside the Parallel, entered only once `a` ran, the branches need no guard.
    assert [b["StartAt"] for b in parallel["Branches"]] == ["b", "c"]
    # The skip goes past the Parallel and everything else `a` dominates.
    assert found["Condition holds? a"]["Default"] == compiler.FINALIZE_SUCCEEDED


def test_failing_condition_is_the_node_failing_for_its_error_strategy() -> None:
    g = Graph(
        nodes=[tool("a"), tool("b", condition="{{a.result}}", error_strategy="continue")],
        edges=[{"source": "a", "target": "b"}],
    )
    found = states(compile_graph(g))
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.vars.b", "Next": "Recover b"}]
    assert found["Condition of b"]["Catch"] == catch
    assert found["b"]["Catch"] == catch
    assert found["Condition of b"]["Parameters"]["node"]["errorStrategy"] == "continue"
    assert found["Recover b"]["Parameters"]["action"] == "recover"


def _iteration_over(items: list[Any]) -> list[Node]:
    """`list` (an echo of `items`) and the iteration `it` over them, whose body starts at
    `it_start` and whose output is its node `b`'s result."""
    return [
        Node(id="list", type=TOOL, config={"tool": "echo", "input": {"xs": items}}),
        Node(
            id="it",
            type=NodeType.ITERATION,
            config={
                "iterator_selector": ["list", "result", "xs"],
                "output_selector": ["b", "result"],
            },
        ),
        Node(id="it_start", type=NodeType.ITERATION_START, parent="it"),
    ]


def test_conditional_output_node_of_an_iteration_may_emit_nothing() -> None:
    g = Graph(
        nodes=[
            *_iteration_over([1]),
            tool("b", parent="it", condition="{{it.index}} > 0"),
        ],
        edges=[{"source": "list", "target": "it"}, {"source": "it_start", "target": "b"}],
    )
    found = states(compile_graph(g))
    assert found["Emit it"]["Type"] == "Choice"
    assert found["Condition holds? b"]["Default"] == "Emit it"


def test_a_conditional_needs_the_if_else_function() -> None:
    targets = Targets(node_functions={"llm": "arn:llm"}, runs_function=RUNS_ARN)
    g = with_fields(graph(["a"], []), a={"condition": "1 == 1"})
    with pytest.raises(CompileError, match="no function deployed for node types: if-else"):
        compile_workflow(g, entry="a", targets=targets, reads=node_reads)


# --- conditional: runs (random DAGs) -----------------------------------------------------


def evaluated(definition: dict[str, Any], holds: Mapping[str, bool]) -> dict[str, Any]:
    """The definition with each condition's evaluation replaced by its outcome."""
    changed = copy.deepcopy(definition)
    for state in _scopes(changed):
        for name, found in list(state.items()):
            node = found.get("Parameters", {}).get("node", {})
            if found["Type"] == "Task" and node.get("evaluates") == "conditional":
                outcome = "true" if holds[node["id"]] else "false"
                state[name] = {
                    "Type": "Pass",
                    "Parameters": {"handle": outcome},
                    "ResultPath": found["ResultPath"],
                    "Next": found["Next"],
                }
    return changed


def _scopes(scope: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield scope["States"]
    for state in scope["States"].values():
        for branch in state.get("Branches", []):
            yield from _scopes(branch)


def expected_runs(
    g: Graph, entry: str, handles: Mapping[str, str], holds: Mapping[str, bool]
) -> set[str]:
    """Dify's rule with conditions: a node is reached when it is the entry or one of its
    incoming edges is taken, and runs when it is reached and its condition (if any) holds."""
    adj = Adjacency(g)
    order = TopologicalSorter({n: adj.predecessors(n) for n in adj.node_ids}).static_order()
    conditional = {n.id for n in g.nodes if n.condition is not None}
    runs: set[str] = set()
    for node_id in order:
        reached = node_id == entry or any(
            e.source in runs and (e.source_handle is None or handles[e.source] == e.source_handle)
            for e in adj.incoming[node_id]
        )
        if reached and (node_id not in conditional or holds[node_id]):
            runs.add(node_id)
    return runs


@pytest.mark.parametrize(("seeds", "with_moto"), [(range(150), False), (range(150, 156), True)])
def test_random_dags_with_conditionals_run_as_dify_would(seeds: range, with_moto: bool) -> None:
    for seed in seeds:
        rng = random.Random(seed)
        g, entry, branching = random_dag(rng)
        gated = [n.id for n in g.nodes if rng.random() < 0.4]
        for node in g.nodes:
            if node.id in gated:
                node.condition = "{{trigger.data.go}}"
        try:
            definition = compile_workflow(g, entry=entry, targets=TARGETS, reads=node_reads)
            check_structure(definition)
            if with_moto:
                parse_with_moto(definition)
            for handles in handle_choices(branching, limit=4):
                for outcomes in handle_choices(gated, limit=6):
                    holds = {n: outcome == "true" for n, outcome in outcomes.items()}
                    _check_run(g, entry, evaluated(definition, holds), handles, holds)
        except AssertionError as exc:
            raise AssertionError(f"seed {seed}: {g.model_dump_json()}\n{exc}") from exc


def _check_run(
    g: Graph,
    entry: str,
    definition: dict[str, Any],
    handles: Mapping[str, str],
    holds: Mapping[str, bool],
) -> None:
    result = run(definition, handles)
    expected = expected_runs(g, entry, handles, holds)
    assert len(result.order) == len(set(result.order)), f"a node ran twice: {result.order}"
    assert set(result.order) == expected, (
        f"ran {result.order}, expected {sorted(expected)} with {dict(handles)}, {dict(holds)}"
    )
    adj = Adjacency(g)
    for node_id in result.order:
        wanted = {state_key(a) for a in ancestors(adj, node_id) if a in expected}
        missing = wanted - result.seen[node_id]
        assert not missing, f"{node_id} ran without the outputs of {sorted(missing)}"
    # A skipped node leaves nothing in the state: downstream guards read it as not run.
    assert set(result.final_vars) == {state_key(n) for n in expected}


# --- loop ----------------------------------------------------------------------------------


def looped_graph(**fields: Any) -> Graph:
    return Graph(
        nodes=[
            Node(id="fetch", type=TOOL, config={"tool": "echo", "input": {"items": [1, 2]}}),
            Node(
                id="each",
                type=TOOL,
                title="Each",
                config={"tool": "echo", "input": {"x": "{{loop.item}}"}},
                loop="{{fetch.result.items}}",
                **fields,
            ),
            tool("after"),
        ],
        edges=[{"source": "fetch", "target": "each"}, {"source": "each", "target": "after"}],
    )


def test_loop_is_prepare_map_of_the_node_task_then_collect() -> None:
    found = states(compile_graph(looped_graph()))
    lists = {
        "iterator_selector": ["fetch", "result", "items"],
        "output_selector": ["each", "result"],
        "flatten_output": False,
    }
    prepare = found["each"]
    assert prepare["Resource"] == NODE_ARNS["iteration"]
    assert prepare["Parameters"]["action"] == "prepare"
    assert prepare["Parameters"]["node"]["type"] == "tool"  # its events are the node's
    assert json.loads(prepare["Parameters"]["node"]["config"]) == lists
    assert prepare["Parameters"]["vars"] == {"fetch.$": "$.vars.fetch"}  # the list
    assert prepare["ResultPath"] == "$.scratch"
    assert prepare["Next"] == "Each each"
    each = found["Each each"]
    assert each["Type"] == "Map"
    assert each["ItemsPath"] == each["ResultPath"] == "$.scratch.items"
    assert each["MaxConcurrency"] == 1
    assert each["ItemSelector"]["loop"] == {
        "loop": {"outputs": {"item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"}}
    }
    # The element aside, the node reads nothing of `vars`: no state rides with each item.
    assert each["ItemSelector"]["vars"] == {}
    # One state per element: the node's Task, the element merged into its vars.
    assert list(each["ItemProcessor"]["States"]) == ["Item of each"]
    item = each["ItemProcessor"]["States"]["Item of each"]
    assert item["Resource"] == NODE_ARNS["tool"]
    assert item["Parameters"]["vars.$"] == "States.JsonMerge($.vars, $.loop, false)"
    assert json.loads(item["Parameters"]["node"]["config"]) == {
        "tool": "echo",
        "input": {"x": "{{loop.item}}"},
    }
    assert item["Parameters"]["node"]["inlineLimit"] == compiler.ITERATION_INLINE_LIMIT
    assert item["OutputPath"] == item["ResultPath"] == "$.vars.each"
    assert item["End"] is True
    collect = found["Collect each"]
    assert collect["Resource"] == NODE_ARNS["iteration"]
    assert collect["Parameters"]["action"] == "collect"
    assert collect["Parameters"]["results.$"] == "$.scratch"
    assert json.loads(collect["Parameters"]["node"]["config"]) == lists
    assert collect["ResultPath"] == "$.vars.each"
    assert collect["Next"] == "after"
    assert found["fetch"]["Next"] == "each"
    assert "Runs? after" not in found  # a loop always runs: nothing after it is guarded


def test_loop_retries_and_times_out_per_element_and_recovers_as_a_whole() -> None:
    found = states(
        compile_graph(
            looped_graph(
                retry={"max_retries": 2},
                timeout_seconds=5,
                error_strategy=ErrorStrategy.CONTINUE,
            )
        )
    )
    item = found["Each each"]["ItemProcessor"]["States"]["Item of each"]
    assert item["TimeoutSeconds"] == 5
    assert item["Retry"][-1]["MaxAttempts"] == 2
    assert "Catch" not in item
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.vars.each", "Next": "Recover each"}]
    for name in ("each", "Each each", "Collect each"):
        assert found[name]["Catch"] == catch, name
        assert "TimeoutSeconds" not in found[name]
    assert found["Recover each"]["Next"] == "after"


def test_loop_with_a_conditional_evaluates_it_once_first() -> None:
    g = looped_graph(condition="{{fetch.result.items}} is not empty")
    found = states(compile_graph(g))
    assert found["fetch"]["Next"] == "Condition of each"
    assert found["Condition holds? each"]["Choices"][0]["Next"] == "each"
    assert found["Condition holds? each"]["Default"] == compiler.FINALIZE_SUCCEEDED
    assert found["Collect each"]["Next"] == "after"
    assert "Runs? after" not in found


def test_loop_inside_an_iteration_body_and_a_parallel_branch() -> None:
    g = Graph(
        nodes=[
            *_iteration_over([[1]]),
            tool("b", parent="it", loop="{{it.item}}"),
            tool("p", loop="{{list.result.xs}}"),
            tool("q"),
            tool("join"),
        ],
        edges=[
            {"source": "list", "target": "it"},
            {"source": "it_start", "target": "b"},
            {"source": "list", "target": "p"},
            {"source": "list", "target": "q"},
            {"source": "it", "target": "join"},
            {"source": "p", "target": "join"},
            {"source": "q", "target": "join"},
        ],
    )
    found = states(compile_graph(g))
    assert found["Each b"]["Type"] == "Map"
    assert (
        found["Collect b"]["Parameters"]["node"]["inlineLimit"] == compiler.ITERATION_INLINE_LIMIT
    )
    assert found["Each p"]["Type"] == "Map"


def test_a_loop_needs_the_iteration_function() -> None:
    targets = Targets(node_functions={"tool": "arn:tool"}, runs_function=RUNS_ARN)
    with pytest.raises(CompileError, match="no function deployed for node types: iteration"):
        compile_workflow(looped_graph(), entry="fetch", targets=targets, reads=node_reads)


# --- v1 mapping ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, {"condition": None, "loop": None, "error_strategy": None}),
        ({"throw_on_error": True}, {"error_strategy": None}),
        ({"throw_on_error": False}, {"error_strategy": ErrorStrategy.CONTINUE}),
        (
            {"conditional": "{{a.result}} == 1", "loop": "{{a.result.xs}}"},
            {"condition": "{{a.result}} == 1", "loop": "{{a.result.xs}}"},
        ),
        ({"conditional": " ", "loop": ""}, {"condition": None, "loop": None}),
    ],
)
def test_v1_step_fields_map_to_the_node(fields: dict[str, Any], expected: dict[str, Any]) -> None:
    nodes = [
        V1Node(id="a", type="tool-call", config={"tool": "echo"}),
        V1Node(id="b", type="tool-call", config={"tool": "echo"}, **fields),
    ]
    g, _, _ = to_graph(nodes, [V1Edge.model_validate({"from": "a", "to": "b"})])
    node = g.node("b")
    assert {name: getattr(node, name) for name in expected} == expected


def test_v1_throw_on_error_must_be_a_boolean() -> None:
    with pytest.raises(ValueError, match="throw_on_error"):
        V1Node.model_validate({"id": "a", "type": "tool-call", "throw_on_error": "no"})


# --- validation ----------------------------------------------------------------------------


@pytest.fixture
def reasons(deploy_env: None) -> Any:
    def found(g: Graph, entry: str | None = None) -> set[tuple[str, str]]:
        return {(p.where, p.reason) for p in problems(g, entry or g.nodes[0].id)}

    return found


def test_sound_step_fields_have_no_problems(reasons: Any) -> None:
    g = looped_graph(condition="{{fetch.result.items}} is not empty and {{trigger.data.go}}")
    g.nodes[1].config["input"]["i"] = "{{loop.index}}"
    assert reasons(g) == set()


def test_conditional_problems(reasons: Any) -> None:
    g = Graph(
        nodes=[
            tool("a", condition="{{a.result}} == 1"),
            tool("b", condition="{{nobody.x}} and {{c.result}}"),
            tool("c", condition="1 ==="),
            tool("d", condition="{{loop.item}} == 1", loop="{{a.result}}"),
        ],
        edges=[
            {"source": "a", "target": "b"},
            {"source": "b", "target": "c"},
            {"source": "c", "target": "d"},
        ],
    )
    assert reasons(g) == {
        ("node 'a'", "conditional: references 'a.result' but 'a' does not run before it"),
        ("node 'b'", "conditional: references unknown node 'nobody'"),
        ("node 'b'", "conditional: references 'c.result' but 'c' does not run before it"),
        ("node 'c'", "conditional: unexpected character at position 4 in '1 ==='"),
        (
            "node 'd'",
            "conditional: references 'loop.item', but the condition is checked once, "
            "before any loop",
        ),
    }


def test_loop_problems(reasons: Any) -> None:
    g = Graph(
        nodes=[
            tool("a"),
            Node(id="c", type=IF, config={"expression": "1 == 1"}, loop="{{a.result}}"),
            tool("b", loop="{{a.result}} and more"),
            Node(
                id="e",
                type=TOOL,
                config={"tool": "echo", "input": {"x": "{{loop.value}}"}},
                loop="{{later.result}}",
            ),
            tool("later"),
            Node(id="f", type=TOOL, config={"tool": "echo", "input": {"x": "{{loop.item}}"}}),
        ],
        edges=[
            {"source": "a", "target": "c"},
            {"source": "c", "target": "b", "source_handle": "true"},
            {"source": "b", "target": "e"},
            {"source": "e", "target": "later"},
            {"source": "later", "target": "f"},
        ],
    )
    assert reasons(g) == {
        ("node 'c'", "loop: a node of type 'if-else' cannot loop"),
        ("node 'b'", "loop: must be one reference to a list, such as {{fetch.result.items}}"),
        ("node 'e'", "loop: references 'later.result' but 'later' does not run before it"),
        ("node 'e'", "references 'loop.value'; a loop has {{loop.item}} and {{loop.index}}"),
        ("node 'f'", "references 'loop.item', which only a node with a loop has"),
    }


def test_a_node_named_loop(reasons: Any) -> None:
    named = Node(id="loop", type=TOOL, config={"tool": "echo", "input": {"xs": [1]}})
    reader = Node(id="r", type=TOOL, config={"tool": "echo", "input": {"x": "{{loop.result}}"}})
    gated = tool("g", condition="{{loop.result.xs}} is not empty")
    edges = [{"source": "loop", "target": "r"}, {"source": "r", "target": "g"}]
    # Outside a looping node, `loop.*` is that node.
    assert reasons(Graph(nodes=[named, reader, gated], edges=edges)) == set()
    looping = Node(
        id="x",
        type=TOOL,
        config={"tool": "echo", "input": {"x": "{{loop.item}}"}},
        loop="{{loop.result.xs}}",
    )
    edges.append({"source": "g", "target": "x"})
    assert reasons(Graph(nodes=[named, reader, gated, looping], edges=edges)) == {
        (
            "node 'x'",
            "its 'loop.…' references name the element it loops over, so node 'loop' "
            "cannot be referenced from it; rename that node",
        )
    }


@pytest.mark.parametrize(
    ("kind", "field", "reason"),
    [
        (NodeType.START, "condition", "conditional: a node of type 'start' always runs"),
        (NodeType.END, "loop", "loop: a node of type 'end' cannot loop"),
        (NodeType.ASSIGNER, "loop", "loop: a node of type 'assigner' cannot loop"),
    ],
)
def test_step_fields_refused_by_node_type(
    reasons: Any, kind: NodeType, field: str, reason: str
) -> None:
    node = Node(id="n", type=kind, **{field: "{{trigger.data.x}}"})
    assert ("node 'n'", reason) in reasons(Graph(nodes=[node], edges=[]))
