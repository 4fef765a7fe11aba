"""Workflow graph -> ASL: shapes of the compiled machine and what Step Functions accepts.

Behaviour is checked by interpreting the compiled states (tests/unit/statemachines/asl.py)
and comparing with Dify's skip rule computed from the graph, so the tests hold whatever
layout the compiler picks; layout itself is pinned by the snapshot tests.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from typing import Any

import pytest

from functions.core.catalog import node_types
from functions.core.errors import InvalidWorkflow
from functions.core.model.graph import Adjacency
from functions.core.model.workflow import ErrorStrategy, ExecutionMode, Graph, NodeType, state_key
from functions.core.services.definitions import MAX_DEFINITION_BYTES, build_definition
from functions.wiring import node_reads
from statemachines import compiler
from statemachines.compiler import CompileError, Targets, compile_workflow
from tests.unit.core.deploy_env import NODE_ARNS, RUNS_ARN
from tests.unit.statemachines.asl import (
    TARGETS,
    always_live,
    body,
    body_states,
    check_run,
    check_structure,
    graph,
    guard_names,
    guards,
    node_tasks,
    parse_with_moto,
    run,
    simulate,
    variables,
)

IF = NodeType.IF_ELSE


def compile_graph(g: Graph, entry: str | None = None) -> dict[str, Any]:
    definition = compile_workflow(
        g, entry=entry or g.nodes[0].id, targets=TARGETS, reads=node_reads
    )
    check_structure(definition)
    parse_with_moto(definition)
    return definition


def state(definition: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(body_states(definition))[name]


def guard_of(definition: dict[str, Any], node_id: str) -> dict[str, Any] | None:
    return guards(definition).get(node_tasks(definition)[node_id])


def parallels(definition: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for _, s in body_states(definition) if s["Type"] == "Parallel"]


# --- the outer frame -------------------------------------------------------------------------


def test_outer_frame_catches_failures_and_finalizes() -> None:
    definition = compile_graph(graph(["a", ("c", IF), "b"], [("a", "c"), ("c", "b", "true")]))
    top = definition["States"]
    # No wrapping state and no begin task: the run is recorded running by its start.
    assert definition["StartAt"] == node_tasks(definition)["a"]
    failed = compiler.FINALIZE_FAILED
    catch = {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": failed}
    for name, found in body(definition)["States"].items():
        if found["Type"] in ("Task", "Parallel", "Map"):
            assert found["Catch"] == [catch], name
    succeeded = top[compiler.FINALIZE_SUCCEEDED]
    assert succeeded["Resource"] == RUNS_ARN
    assert succeeded["Parameters"]["action"] == "succeed"
    assert succeeded["Parameters"]["vars.$"] == "$.vars"
    assert succeeded["Parameters"]["sinks"] == ["b"]
    assert succeeded["End"] is True
    assert "Catch" not in succeeded
    assert top[compiler.FINALIZE_FAILED]["Parameters"]["action"] == "fail"
    assert top[compiler.FINALIZE_FAILED]["Next"] == compiler.FAILED
    assert top[compiler.FAILED]["Type"] == "Fail"
    assert not [
        s for _, s in body_states(definition) if s.get("Parameters", {}).get("action") == "begin"
    ]


def test_an_error_strategy_recovery_is_caught_by_the_frame() -> None:
    g = graph(["a", "b"], [("a", "b")])
    g.nodes[0].error_strategy = ErrorStrategy.DEFAULT_VALUE
    top = compile_graph(g)["States"]
    assert [c["Next"] for c in top["a"]["Catch"]] == ["Recover a"]
    assert [c["Next"] for c in top["Recover a"]["Catch"]] == [compiler.FINALIZE_FAILED]


def test_task_carries_node_and_context_and_writes_under_vars() -> None:
    g = graph([("check", IF), "b"], [("check", "b", "true")])
    g.nodes[1].config = {"prompt": "分析 {{check.x}}", "model": "m", "temperature": 0.5}
    g.nodes[1].title = "分析"
    definition = compile_graph(g)
    task = state(definition, node_tasks(definition)["b"])
    assert task["Resource"] == NODE_ARNS["llm"]
    assert task["ResultPath"] == "$.vars.b"
    params = task["Parameters"]
    assert params["node"]["id"] == "b"
    assert params["node"]["type"] == "llm"
    assert params["node"]["title"] == "分析"
    assert json.loads(params["node"]["config"]) == g.nodes[1].config
    assert "分析" in params["node"]["config"]  # not \u-escaped
    assert {k: v for k, v in params.items() if k != "node"} == {
        "run.$": "$.run",
        "trigger.$": "$.trigger",
        "sys.$": "$.sys",
        # Only the state its prompt reads, of a node sure to have run before it.
        "vars": {"check.$": "$.vars.check"},
    }
    assert state(definition, "check")["Resource"] == NODE_ARNS["if-else"]


def test_config_keys_ending_in_dollar_are_not_paths() -> None:
    # The config travels as JSON text, so a user's "x.$" key is never read as a JSONPath.
    g = graph(["a"], [])
    g.nodes[0].config = {"prompt": "p", "input.$": "$.secret"}
    task = state(compile_graph(g), "a")
    assert isinstance(task["Parameters"]["node"]["config"], str)
    assert json.loads(task["Parameters"]["node"]["config"])["input.$"] == "$.secret"


def test_missing_function_for_a_node_type_is_a_compile_error() -> None:
    targets = Targets(node_functions={"llm": "arn:llm"}, runs_function=RUNS_ARN)
    g = graph(["a", ("c", IF), ("h", NodeType.HTTP_REQUEST)], [("a", "c"), ("c", "h", "true")])
    with pytest.raises(
        CompileError, match="no function deployed for node types: http-request, if-else"
    ):
        compile_workflow(g, entry="a", targets=targets, reads=node_reads)


# --- chains, branches, merges, fan-out -----------------------------------------------------


def test_chain_compiles_to_tasks_without_guards() -> None:
    definition = compile_graph(graph(["a", "b", "c"], [("a", "b"), ("b", "c")]))
    found = body(definition)["States"]
    assert set(found) == {"a", "b", "c"}
    assert {s["Type"] for s in found.values()} == {"Task"}
    assert [definition["StartAt"], found["a"]["Next"], found["b"]["Next"]] == ["a", "b", "c"]
    assert found["c"]["Next"] == compiler.FINALIZE_SUCCEEDED
    assert simulate(definition, {}) == ["a", "b", "c"]


def test_condition_branches_get_one_guard_on_the_handle() -> None:
    g = graph(
        ["start", ("c", IF), "yes", "no"],
        [("start", "c"), ("c", "yes", "true"), ("c", "no", "false")],
    )
    definition = compile_graph(g)
    assert guard_of(definition, "start") is None
    assert guard_of(definition, "c") is None
    rule = guard_of(definition, "yes")
    assert rule is not None
    assert ("$.vars.c.handle", "StringEquals", "true") in set(variables(rule))
    assert all(v.startswith("$.vars.c") for v, _, _ in variables(rule))
    # Not "true" is "false" for an if-else of one case: `no` needs no guard of its own.
    assert guard_of(definition, "no") is None
    assert state(definition, "Runs? yes")["Default"] == "no"
    assert state(definition, "yes")["Next"] == compiler.FINALIZE_SUCCEEDED
    check_run(g, "start", definition, {"c": "true"})
    assert simulate(definition, {"c": "true"}) == ["start", "c", "yes"]
    assert simulate(definition, {"c": "false"}) == ["start", "c", "no"]


def test_merge_after_both_branches_needs_no_guard() -> None:
    g = graph(
        [("c", IF), "yes", "no", "merge"],
        [("c", "yes", "true"), ("c", "no", "false"), ("yes", "merge"), ("no", "merge")],
    )
    definition = compile_graph(g)
    # Each branch's path knows its node ran: straight on to the merge.
    assert guard_of(definition, "merge") is None
    assert state(definition, "yes")["Next"] == "merge"
    assert state(definition, "no")["Next"] == "merge"
    assert len(guards(definition)) == 1
    assert simulate(definition, {"c": "true"}) == ["c", "yes", "merge"]
    assert simulate(definition, {"c": "false"}) == ["c", "no", "merge"]


def test_merge_of_a_branch_and_an_unconditional_edge_needs_no_guard() -> None:
    g = graph(
        ["a", ("c", IF), "yes", "merge"],
        [("a", "c"), ("c", "yes", "true"), ("yes", "merge"), ("a", "merge")],
    )
    definition = compile_graph(g)
    assert guard_of(definition, "merge") is None
    assert simulate(definition, {"c": "false"}) == ["a", "c", "merge"]
    check_run(g, "a", definition, {"c": "true"})


def test_a_failed_guard_skips_everything_it_dominates() -> None:
    g = graph(
        [("c", IF), "x1", "x2", "x3", "other"],
        [("c", "x1", "true"), ("x1", "x2"), ("x2", "x3"), ("c", "other", "false")],
    )
    definition = compile_graph(g)
    assert guard_of(definition, "x1") is not None
    tasks = node_tasks(definition)
    behind = {tasks["x2"], tasks["x3"]}
    behind |= {name for name, target in guard_names(definition).items() if target in behind}
    skipped = run(definition, {"c": "false"})
    # x1's guard fails and jumps straight past x2 and x3: their guards are not even asked.
    assert not behind & set(skipped.visited), skipped.visited
    assert simulate(definition, {"c": "true"}) == ["c", "x1", "x2", "x3"]
    assert simulate(definition, {"c": "false"}) == ["c", "other"]


def test_node_behind_both_a_branch_and_a_handle() -> None:
    g = graph(
        [("c", IF), "yes", "after_yes", "no"],
        [
            ("c", "yes", "true"),
            ("c", "no", "false"),
            ("yes", "after_yes"),
            ("c", "after_yes", "false"),
        ],
    )
    definition = compile_graph(g)
    for handle in ("true", "false"):
        check_run(g, "c", definition, {"c": handle})
    assert set(simulate(definition, {"c": "false"})) == {"c", "no", "after_yes"}


def test_both_handles_to_one_target_always_run_it() -> None:
    g = graph([("c", IF), "t"], [("c", "t", "true"), ("c", "t", "false")])
    definition = compile_graph(g)
    for handle in ("true", "false"):
        assert simulate(definition, {"c": handle}) == ["c", "t"]


def test_nested_conditions() -> None:
    g = graph(
        [("c1", IF), ("c2", IF), "a", "b", "z"],
        [("c1", "c2", "true"), ("c2", "a", "true"), ("c2", "b", "false"), ("c1", "z", "false")],
    )
    definition = compile_graph(g)
    assert simulate(definition, {"c1": "true", "c2": "true"}) == ["c1", "c2", "a"]
    assert simulate(definition, {"c1": "true", "c2": "false"}) == ["c1", "c2", "b"]
    assert simulate(definition, {"c1": "false", "c2": "true"}) == ["c1", "z"]


def test_fan_out_to_independent_branches_becomes_a_parallel_and_join_sees_all() -> None:
    g = graph(
        ["a", "b1", "b2", "c1", "d"],
        [("a", "b1"), ("b1", "b2"), ("a", "c1"), ("b2", "d"), ("c1", "d")],
    )
    definition = compile_graph(g)
    (parallel,) = parallels(definition)
    branch_nodes = [
        sorted(s["Parameters"]["node"]["id"] for s in b["States"].values() if s["Type"] == "Task")
        for b in parallel["Branches"]
    ]
    assert branch_nodes == [["b1", "b2"], ["c1"]]
    assert not guards(definition)
    result = check_run(g, "a", definition, {})  # d sees b2's and c1's outputs
    assert result.seen["d"] >= {"a", "b1", "b2", "c1"}


@pytest.mark.parametrize("width", [3, 4, 5])
def test_wide_fan_out_runs_every_branch_in_parallel_and_join_sees_all(width: int) -> None:
    middle = [f"m{i}" for i in range(width)]
    g = graph(
        ["a", *middle, "join"],
        [("a", m) for m in middle] + [(m, "join") for m in middle],
    )
    definition = compile_graph(g)
    top_level = {
        s["Parameters"]["node"]["id"]
        for s in body(definition)["States"].values()
        if "node" in s.get("Parameters", {})
    }
    assert top_level == {"a", "join"}  # every middle node runs inside a Parallel branch
    assert set(node_tasks(definition)) == {"a", "join", *middle}
    assert check_run(g, "a", definition, {}).seen["join"] >= set(middle)


@pytest.mark.parametrize("width", [2, 3])
def test_fan_out_from_a_long_id_keeps_names_within_80(width: int) -> None:
    fork = "F" * 70
    middle = [f"m{i}" for i in range(width)]
    g = graph(
        [fork, *middle, "join"],
        [(fork, m) for m in middle] + [(m, "join") for m in middle],
    )
    check_structure(compile_workflow(g, entry=fork, targets=TARGETS, reads=node_reads))


def test_fan_out_with_crossing_dependency_is_not_parallel() -> None:
    # b feeds c, so the two "branches" are one component: keep them in order.
    g = graph(["a", "b", "c", "d"], [("a", "b"), ("a", "c"), ("b", "c"), ("c", "d")])
    definition = compile_graph(g)
    assert not parallels(definition)
    assert simulate(definition, {}) == ["a", "b", "c", "d"]


def test_fan_out_of_a_condition_is_not_parallel() -> None:
    g = graph(
        [("c", IF), "yes", "no", "m"],
        [("c", "yes", "true"), ("c", "no", "false"), ("yes", "m"), ("no", "m")],
    )
    assert not parallels(compile_graph(g))


def test_condition_inside_a_parallel_branch() -> None:
    g = graph(
        ["a", ("c", IF), "t", "f", "other", "join"],
        [
            ("a", "c"),
            ("a", "other"),
            ("c", "t", "true"),
            ("c", "f", "false"),
            ("t", "join"),
            ("f", "join"),
            ("other", "join"),
        ],
    )
    definition = compile_graph(g)
    assert parallels(definition)
    for handle in ("true", "false"):
        check_run(g, "a", definition, {"c": handle})


def test_duplicate_edges_run_the_target_once() -> None:
    g = graph(["a", "b"], [("a", "b"), ("a", "b")])
    assert simulate(compile_graph(g), {}) == ["a", "b"]


def test_single_node() -> None:
    definition = compile_graph(graph(["only"], []))
    assert set(body(definition)["States"]) == {"only"}
    assert definition["States"][compiler.FINALIZE_SUCCEEDED]["Parameters"]["sinks"] == ["only"]


def test_declaration_order_does_not_break_dependencies() -> None:
    g = graph(["a", "c", "b"], [("a", "b"), ("b", "c")])
    assert simulate(compile_graph(g), {}) == ["a", "b", "c"]


# --- every edge is represented (random DAGs) -------------------------------------------------


@pytest.mark.parametrize(("seeds", "with_moto"), [(range(200), False), (range(200, 208), True)])
def test_random_dags_represent_every_edge_and_run_as_dify_would(
    seeds: range, with_moto: bool
) -> None:
    for seed in seeds:
        g, entry, conditions = random_dag(random.Random(seed))
        try:
            definition = compile_workflow(g, entry=entry, targets=TARGETS, reads=node_reads)
            check_structure(definition)
            if with_moto:
                parse_with_moto(definition)
            _check_edges_represented(g, entry, definition)
            for handles in handle_choices(conditions, limit=8):
                check_run(g, entry, definition, handles)
        except AssertionError as exc:
            raise AssertionError(f"seed {seed}: {g.model_dump_json()}\n{exc}") from exc


def _check_edges_represented(g: Graph, entry: str, definition: dict[str, Any]) -> None:
    adj = Adjacency(g)
    live = always_live(g, entry)
    tasks = node_tasks(definition)
    assert set(tasks) == {n.id for n in g.nodes}
    for node in g.nodes:
        rule = guards(definition).get(tasks[node.id])
        incoming = adj.incoming[node.id]
        if node.id in live:
            assert rule is None, f"always-live {node.id} needs no guard"
        if rule is None:
            # Unguarded: live, or decided by every path reaching it (what the path knows:
            # the node just run, the handle chosen); the simulated runs check the outcome.
            continue
        tested = set(variables(rule))
        for e in incoming:
            key = state_key(e.source)
            if e.source_handle is None:
                assert (f"$.vars.{key}", "IsPresent", True) in tested, (e.key, rule)
            else:
                assert (f"$.vars.{key}.handle", "StringEquals", e.source_handle) in tested, e.key
        sources = {state_key(e.source) for e in incoming}
        assert {v.split(".")[2] for v, _, _ in tested} == sources, (node.id, rule)


def random_dag(rng: Any, size: int | None = None) -> tuple[Graph, str, list[str]]:
    """A DAG reachable from its first node; ~1/3 conditions; declared in shuffled order."""
    count = size or rng.randint(1, 9)
    pool = ["n{}", "节点-{}", "171152891410{}", "node_{}"]
    ids = [rng.choice(pool).format(i) for i in range(count)]
    kinds = {i: IF if rng.random() < 0.35 else NodeType.LLM for i in ids}
    edges: list[tuple[str, str, str | None]] = []
    for index in range(1, count):
        for source in rng.sample(ids[:index], k=min(index, rng.choice([1, 1, 1, 2, 3]))):
            handle = rng.choice(["true", "false"]) if kinds[source] == IF else None
            edges.append((source, ids[index], handle))
    declared = [ids[0], *rng.sample(ids[1:], count - 1)]
    conditions = [i for i in ids if kinds[i] == IF]
    return graph([(i, kinds[i]) for i in declared], edges), ids[0], conditions


def handle_choices(conditions: list[str], limit: int) -> list[dict[str, str]]:
    combos = []
    for bits in range(min(2 ** len(conditions), limit)):
        combos.append({c: "true" if bits >> i & 1 else "false" for i, c in enumerate(conditions)})
    if 2 ** len(conditions) > limit:
        combos.append(dict.fromkeys(conditions, "true"))
    return combos


# --- node ids and state names ------------------------------------------------------------------


@pytest.mark.parametrize("odd", ["1711528914102", "节点-1", "my-node", "has space", "a.b", "$x"])
def test_non_identifier_ids_get_hex_state_keys(odd: str) -> None:
    # Two if-else in Parallel branches meet at `after`: only run time can tell which ran.
    g = graph(
        ["a", ("c1", IF), ("c2", IF), odd, "y", "after"],
        [
            ("a", "c1"),
            ("a", "c2"),
            ("c1", odd, "true"),
            ("c2", "y", "true"),
            (odd, "after"),
            ("y", "after"),
        ],
    )
    definition = compile_graph(g)
    key = state_key(odd)
    assert key == "_" + odd.encode().hex()
    assert node_tasks(definition)[odd] == odd  # the state keeps the readable id
    assert state(definition, odd)["ResultPath"] == f"$.vars.{key}"
    rule = guard_of(definition, "after")
    assert rule is not None
    assert (f"$.vars.{key}", "IsPresent", True) in set(variables(rule))
    for first, second in itertools.product(("true", "false"), repeat=2):
        check_run(g, "a", definition, {"c1": first, "c2": second})


@pytest.mark.parametrize("plain", ["a", "ok_", "node_1", "Fetch2"])
def test_identifier_ids_are_their_own_state_keys(plain: str) -> None:
    assert state_key(plain) == plain


def test_dify_style_condition_id_keys_its_handle_variable() -> None:
    cond = "1711528914102"
    g = graph([(cond, IF), "t"], [(cond, "t", "true")])
    rule = guard_of(compile_graph(g), "t")
    assert rule is not None
    key = "_" + cond.encode().hex()
    assert (f"$.vars.{key}.handle", "StringEquals", "true") in set(variables(rule))


def test_long_ids_get_unique_names_within_80_chars() -> None:
    prefix = "x" * 70
    first, second = prefix + "_first_node_with_long_id", prefix + "_second_node_with_long_id"
    g = graph(
        ["a", ("c", IF), first, second, "z"],
        [("a", "c"), ("c", first, "true"), ("c", second, "false"), (first, "z"), (second, "z")],
    )
    definition = compile_graph(g)  # checks every name <= 80 and unique
    names = node_tasks(definition)
    assert len(names[first]) <= 80
    assert names[first] != names[second]
    assert names[first].startswith(first[:50])
    for handle in ("true", "false"):
        check_run(g, "a", definition, {"c": handle})


def test_an_80_char_id_is_kept_as_is() -> None:
    exact = "y" * 80
    assert node_tasks(compile_graph(graph([exact], [])))[exact] == exact


def test_128_char_cjk_id() -> None:
    long_cjk = "节" * 128
    definition = compile_graph(graph(["a", long_cjk], [("a", long_cjk)]))
    assert len(node_tasks(definition)[long_cjk]) <= 80


def test_long_entry_id_with_a_skippable_last_node_keeps_names_within_80() -> None:
    long_id = "L" * 70
    g = graph([long_id, ("c", IF), "t"], [(long_id, "c"), ("c", "t", "true")])
    definition = compile_workflow(g, entry=long_id, targets=TARGETS, reads=node_reads)
    too_long = [name for name, _ in body_states(definition) if len(name) > 80]
    assert not too_long


def test_distinct_ids_get_distinct_state_keys() -> None:
    g = graph(["a", ("1", IF), "n31", "t"], [("a", "1"), ("a", "n31"), ("1", "t", "true")])
    definition = compile_graph(g)
    paths = [
        s["ResultPath"] for _, s in body_states(definition) if "node" in s.get("Parameters", {})
    ]
    assert len(paths) == len(set(paths)), paths


def test_node_named_begin_runs_in_order() -> None:
    g = graph(
        [("c", IF), "x", "Begin"], [("c", "x", "true"), ("c", "Begin", "false"), ("x", "Begin")]
    )
    definition = compile_workflow(g, entry="c", targets=TARGETS, reads=node_reads)
    assert definition["States"]["Begin"]["Parameters"]["node"]["id"] == "Begin"
    check_structure(definition)
    check_run(g, "c", definition, {"c": "true"})


@pytest.mark.parametrize("reserved", ["Body", "FinalizeSucceeded", "FinalizeFailed", "Failed"])
def test_node_ids_equal_to_outer_state_names(reserved: str) -> None:
    g = graph(["a", reserved], [("a", reserved)])
    check_structure(compile_workflow(g, entry="a", targets=TARGETS, reads=node_reads))


# --- definition size -----------------------------------------------------------------------------


def _size(definition: dict[str, Any]) -> int:
    return len(json.dumps(definition, ensure_ascii=False).encode())


@pytest.mark.usefixtures("deploy_env")
def test_definition_over_1_mib_is_refused_naming_its_size() -> None:
    g = graph(["a", "b", "c"], [("a", "b"), ("b", "c")])
    for n in g.nodes:
        n.config = {"prompt": "x" * 400_000}
    with pytest.raises(InvalidWorkflow) as caught:
        build_definition(g, "a")
    (problem,) = caught.value.problems
    assert problem.where == "definition"
    size = _size(node_types().compile(g, "a", ExecutionMode.STANDARD))
    assert size > MAX_DEFINITION_BYTES
    assert (
        problem.reason
        == f"the compiled state machine is {size:,} bytes; Step Functions allows 1,048,576"
    )


@pytest.mark.usefixtures("deploy_env")
def test_size_is_counted_in_utf8_bytes_not_characters() -> None:
    # 2 x 200,000 CJK characters: ~400k characters but ~1.2 MB of UTF-8.
    g = graph(["a", "b"], [("a", "b")])
    for n in g.nodes:
        n.config = {"prompt": "节" * 200_000}
    with pytest.raises(InvalidWorkflow, match=r"is 1,\d{3},\d{3} bytes"):
        build_definition(g, "a")


@pytest.mark.usefixtures("deploy_env")
def test_definition_of_exactly_1_mib_is_accepted() -> None:
    g = graph(["a"], [])
    g.nodes[0].config = {"prompt": "p"}
    overhead = _size(node_types().compile(g, "a", ExecutionMode.STANDARD)) - 1
    g.nodes[0].config = {"prompt": "p" * (MAX_DEFINITION_BYTES - overhead)}
    assert _size(build_definition(g, "a")) == MAX_DEFINITION_BYTES
    g.nodes[0].config = {"prompt": "p" * (MAX_DEFINITION_BYTES - overhead + 1)}
    with pytest.raises(InvalidWorkflow, match=re.escape("1,048,577 bytes")):
        build_definition(g, "a")


@pytest.mark.parametrize(("width", "merges"), [(2, 0), (11, 0), (12, 1), (121, 1), (122, 2)])
def test_wide_join_merges_in_the_parallel_and_past_11_branches_in_passes(
    width: int, merges: int
) -> None:
    middle = [f"m{i}" for i in range(width)]
    g = graph(
        ["a", *middle, "join"],
        [("a", m) for m in middle] + [(m, "join") for m in middle],
    )
    definition = compile_graph(g)
    found = dict(body_states(definition))
    passes = [name for name, s in found.items() if name.startswith("Merge ")]
    assert len(passes) == merges
    # Every field stays within Step Functions' limit of nested intrinsic calls.
    for s in found.values():
        for template in (s.get("ResultSelector") or {}, s.get("Parameters") or {}):
            for value in template.values():
                if isinstance(value, str):
                    assert value.count("States.JsonMerge") <= compiler.MAX_INTRINSIC_CALLS
    result = check_run(g, "a", definition, {})
    assert {state_key(m) for m in middle} <= set(result.final_vars)
