"""Each task receives only the `vars` entries its config reads (statemachines/task_vars.py).

A state is selected by its own path only where its node surely wrote it before the task;
anywhere else the task receives all of `vars`, so it reads a node that did not run as
absent, as before. The random graphs below check both halves in the simulator, which
evaluates every task's Parameters (a path to a missing key fails there as in Step
Functions) and compares what a task received with what the state held.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from typing import Any

from functions.core.expressions.templates import Selector
from functions.core.model.workflow import Edge, Graph, Node, NodeType, state_key
from functions.wiring import node_reads
from statemachines import compiler
from statemachines.compiler import compile_workflow
from statemachines.compiler.task_vars import ITEM_ROOT, Reads
from tests.unit.statemachines.asl import (
    TARGETS,
    body_states,
    check_structure,
    parse_with_moto,
    run,
)
from tests.unit.statemachines.test_compiler import handle_choices, random_dag

IF = NodeType.IF_ELSE
TEMPLATE = NodeType.TEMPLATE_TRANSFORM
WHOLE = {"vars.$": "$.vars"}


def compiled(g: Graph, entry: str | None = None) -> dict[str, Any]:
    definition = compile_workflow(
        g, entry=entry or g.nodes[0].id, targets=TARGETS, reads=node_reads
    )
    check_structure(definition)
    parse_with_moto(definition)
    return definition


def received(definition: Mapping[str, Any]) -> dict[str, Any]:
    """State name -> the `vars` part of its Parameters, Map items' states included."""
    found: dict[str, Any] = {}
    stack = [dict(body_states(definition))]
    while stack:
        for name, state in stack.pop().items():
            parameters = state.get("Parameters", {})
            if "vars" in parameters:
                found[name] = {"vars": parameters["vars"]}
            elif "vars.$" in parameters:
                found[name] = {"vars.$": parameters["vars.$"]}
            if state["Type"] == "Map":
                found[f"items of {name}"] = _vars_of(state["ItemSelector"])
                stack.append(state["ItemProcessor"]["States"])
    return found


def _vars_of(parameters: Mapping[str, Any]) -> dict[str, Any]:
    if "vars" in parameters:
        return {"vars": parameters["vars"]}
    return {"vars.$": parameters["vars.$"]}


def selects(*nodes: str, root: str = "$.vars") -> dict[str, Any]:
    return {"vars": {f"{state_key(n)}.$": f"{root}.{state_key(n)}" for n in nodes}}


def template(node_id: str, *reads: str, parent: str | None = None) -> Node:
    variables = [
        {"variable": f"v{i}", "value_selector": [r, "output"]} for i, r in enumerate(reads)
    ]
    return Node(
        id=node_id,
        type=TEMPLATE,
        config={"template": "t", "variables": variables},
        parent=parent,
    )


def edges(*pairs: tuple[str, ...]) -> list[Edge]:
    return [
        Edge(source=p[0], target=p[1], source_handle=p[2] if len(p) > 2 else None) for p in pairs
    ]


# --- what a task receives --------------------------------------------------------------------


def test_along_a_chain_each_task_receives_only_what_it_reads() -> None:
    size = 300
    ids = [f"t{i}" for i in range(size)]
    nodes = [template(ids[0])] + [template(ids[i], ids[i - 1]) for i in range(1, size)]
    g = Graph(nodes=nodes, edges=edges(*itertools.pairwise(ids)))
    definition = compile_workflow(g, entry="t0", targets=TARGETS, reads=node_reads)
    found = received(definition)
    assert found["t0"] == {"vars": {}}
    assert all(found[ids[i]] == selects(ids[i - 1]) for i in range(1, size))
    # The run's end reads the last node's state only: the chain's sink surely ran.
    finalize = definition["States"][compiler.FINALIZE_SUCCEEDED]["Parameters"]
    assert finalize["vars"] == selects(ids[-1])["vars"]


def test_a_node_read_far_upstream_is_selected_when_it_dominates() -> None:
    g = Graph(
        nodes=[template("a"), template("b", "a"), template("c", "b"), template("d", "a", "c")],
        edges=edges(("a", "b"), ("b", "c"), ("c", "d")),
    )
    assert received(compiled(g))["d"] == selects("a", "c")


def test_after_branches_a_node_that_may_not_have_run_gets_all_of_vars() -> None:
    aggregate = Node(
        id="agg",
        type=NodeType.VARIABLE_AGGREGATOR,
        config={"variables": [["yes", "output"], ["no", "output"]]},
    )
    g = Graph(
        nodes=[
            Node(id="c", type=IF, config={"expression": "1 == 1"}),
            template("yes"),
            template("no"),
            aggregate,
            template("after", "c"),
            template("late", "yes"),
        ],
        edges=edges(
            ("c", "yes", "true"),
            ("c", "no", "false"),
            ("yes", "agg"),
            ("no", "agg"),
            ("agg", "after"),
            ("after", "late"),
        ),
    )
    definition = compiled(g)
    found = received(definition)
    assert found["agg"] == WHOLE  # one of the two did not run
    assert found["after"] == selects("c")  # the if-else ran on every path
    assert found["late"] == WHOLE  # `yes` is skipped on the false branch
    for handle in ("true", "false"):
        for node_id, got, state in run(definition, {"c": handle}).inputs:
            if node_id == "agg":
                assert got == state


def test_a_node_of_a_sibling_branch_is_never_selected() -> None:
    g = Graph(
        nodes=[template("a"), template("l", "a"), template("r", "l"), template("j", "l", "r")],
        edges=edges(("a", "l"), ("a", "r"), ("l", "j"), ("r", "j")),
    )
    found = received(compiled(g))
    assert found["l"] == selects("a")
    assert found["r"] == WHOLE  # `l` runs in the other branch of the Parallel
    # The join runs after both branches, each sure to have run once the fork did.
    assert found["j"] == selects("l", "r")


def test_a_branch_that_may_be_skipped_is_not_selected_at_the_join() -> None:
    g = Graph(
        nodes=[
            template("a"),
            template("l", "a"),
            template("r").model_copy(update={"condition": "{{a.output}} == 'x'"}),
            template("j", "l", "r"),
        ],
        edges=edges(("a", "l"), ("a", "r"), ("l", "j"), ("r", "j")),
    )
    assert received(compiled(g))["j"] == WHOLE


def test_a_config_the_catalogue_cannot_read_gets_all_of_vars() -> None:
    g = Graph(
        nodes=[template("a"), Node(id="b", type=TEMPLATE, config={"variables": "not a list"})],
        edges=edges(("a", "b")),
    )
    assert received(compiled(g))["b"] == WHOLE


def test_without_the_catalogue_every_task_gets_all_of_vars() -> None:
    g = Graph(nodes=[template("a"), template("b", "a")], edges=edges(("a", "b")))
    definition = compile_workflow(g, entry="a", targets=TARGETS)
    assert set(map(str, received(definition).values())) == {str(WHOLE)}


def test_a_condition_receives_what_it_reads() -> None:
    g = Graph(
        nodes=[
            template("a"),
            template("b").model_copy(update={"condition": "{{a.output}} == 'x'"}),
        ],
        edges=edges(("a", "b")),
    )
    assert received(compiled(g))["Condition of b"] == selects("a")


# --- iteration and loop bodies ---------------------------------------------------------------


def iteration_graph() -> Graph:
    return Graph(
        nodes=[
            template("before"),
            Node(
                id="it",
                type=NodeType.ITERATION,
                config={
                    "iterator_selector": ["before", "output"],
                    "output_selector": ["y", "output"],
                },
            ),
            Node(id="it_start", type=NodeType.ITERATION_START, parent="it"),
            template("x", "it", "before", parent="it"),
            template("y", "x", parent="it"),
            template("after", "it"),
        ],
        edges=edges(("before", "it"), ("it_start", "x"), ("x", "y"), ("it", "after")),
    )


def test_an_iteration_body_selects_the_item_and_what_dominates_the_iteration() -> None:
    found = received(compiled(iteration_graph()))
    assert found["it"] == selects("before")  # prepare reads the list; not the body's output
    assert found["Collect it"] == selects("before")
    # The item comes from the item root, the outer node from the state the item carries.
    assert found["x"] == {"vars": {"it.$": f"$.{ITEM_ROOT}.it", "before.$": "$.vars.before"}}
    assert found["y"] == selects("x")
    assert found["after"] == selects("it")
    # Each item carries only what the body selects from outside it.
    assert found["items of Each it"] == selects("before")


def test_an_iteration_body_reading_a_node_that_may_not_have_run_gets_all_of_vars() -> None:
    g = iteration_graph()
    g.nodes.insert(0, Node(id="c", type=IF, config={"expression": "1 == 1"}))
    g.nodes.insert(1, template("maybe"))
    g.edges += edges(("c", "maybe", "true"), ("c", "before"), ("maybe", "before"))
    g.nodes[-2] = template("y", "x", "maybe", parent="it")
    found = received(compiled(g, "c"))
    assert found["y"] == {"vars.$": f"States.JsonMerge($.vars, $.{ITEM_ROOT}, false)"}
    assert found["items of Each it"] == WHOLE  # so that `y` sees `maybe` when it ran
    assert found["x"] == {"vars": {"it.$": f"$.{ITEM_ROOT}.it", "before.$": "$.vars.before"}}


def test_a_nested_iteration_takes_the_outer_item_from_its_item_root() -> None:
    g = Graph(
        nodes=[
            template("before"),
            Node(
                id="it",
                type=NodeType.ITERATION,
                config={"iterator_selector": ["before", "output"], "output_selector": ["x", "o"]},
            ),
            Node(id="it_start", type=NodeType.ITERATION_START, parent="it"),
            template("x", parent="it"),
            Node(
                id="inner",
                type=NodeType.ITERATION,
                config={"iterator_selector": ["it", "item"], "output_selector": ["z", "output"]},
                parent="it",
            ),
            Node(id="inner_start", type=NodeType.ITERATION_START, parent="inner"),
            template("z", "inner", "it", "before", parent="inner"),
        ],
        edges=edges(("before", "it"), ("it_start", "x"), ("x", "inner"), ("inner_start", "z")),
    )
    found = received(compiled(g, "before"))
    item = f"$.{ITEM_ROOT}"
    assert found["z"] == {
        "vars": {"inner.$": f"{item}.inner", "it.$": "$.vars.it", "before.$": "$.vars.before"}
    }
    assert found["items of Each inner"] == {
        "vars": {"before.$": "$.vars.before", "it.$": f"{item}.it"}
    }
    assert found["items of Each it"] == selects("before")


def loop_graph() -> Graph:
    loop_config = {
        "loop_count": 3,
        "loop_variables": [
            {"label": "n", "var_type": "number", "value_type": "variable", "value": ["a", "output"]}
        ],
        "break_conditions": [
            {"variable_selector": ["body", "output"], "comparison_operator": "=", "value": "x"}
        ],
    }
    return Graph(
        nodes=[
            template("a"),
            Node(id="lp", type=NodeType.LOOP, config=loop_config),
            Node(id="lp_start", type=NodeType.LOOP_START, parent="lp"),
            Node(
                id="body",
                type=TEMPLATE,
                config={
                    "template": "t",
                    "variables": [
                        {"variable": "n", "value_selector": ["lp", "n"]},
                        {"variable": "a", "value_selector": ["a", "output"]},
                    ],
                },
                parent="lp",
            ),
        ],
        edges=edges(("a", "lp"), ("lp_start", "body")),
    )


def test_a_loop_body_selects_the_loop_state_and_its_check_gets_all_of_vars() -> None:
    found = received(compiled(loop_graph()))
    # init reads the initial value; the break condition's body node has not run yet.
    assert found["lp"] == selects("a")
    assert found["body"] == selects("lp", "a")  # the loop's state: written by its init
    assert found["Check lp"] == WHOLE  # it answers the whole new `vars`


def test_a_looping_node_carries_only_what_it_reads_into_each_element() -> None:
    g = Graph(
        nodes=[
            template("a"),
            Node(
                id="each",
                type=NodeType.TEMPLATE_TRANSFORM,
                config={
                    "template": "t",
                    "variables": [
                        {"variable": "i", "value_selector": ["loop", "item"]},
                        {"variable": "a", "value_selector": ["a", "output"]},
                    ],
                },
                loop="{{a.output}}",
            ),
        ],
        edges=edges(("a", "each")),
    )
    found = received(compiled(g))
    assert found["items of Each each"] == selects("a")
    assert found["Item of each"] == {"vars.$": "States.JsonMerge($.vars, $.loop, false)"}


# --- never a missing key, never a state withheld (random graphs) ------------------------------


def _reading(g: Graph, rng: random.Random) -> dict[str, list[str]]:
    """Each node reads a few random other nodes (upstream or not: validation is not asked)."""
    ids = [n.id for n in g.nodes]
    return {n: rng.sample(ids, k=min(len(ids), rng.randint(0, 3))) for n in ids}


def _reads_of(reading: Mapping[str, list[str]]) -> Reads:
    """Each task reads the nodes `reading` names for its node (the id in its config)."""

    def reads(_function: NodeType, config: Mapping[str, Any]) -> list[Selector]:
        return [(r, "x") for r in reading[config["id"]]] if "id" in config else []

    return reads


def test_random_graphs_never_miss_a_key_nor_withhold_a_state() -> None:
    for seed in range(300):
        rng = random.Random(seed)
        g, entry, conditions = random_dag(rng)
        reading = _reading(g, rng)
        reads = _reads_of(reading)
        # Some nodes also have a `condition` (a step field), which may skip them.
        for node in g.nodes[1:]:
            if node.id != entry and rng.random() < 0.2:
                node.condition = "{{x.y}} == 1"
                conditions.append(f"{node.id}?")
        for node in g.nodes:
            node.config = {**node.config, "id": node.id}
        definition = compile_workflow(g, entry=entry, targets=TARGETS, reads=reads)
        for handles in handle_choices(conditions, limit=16):
            try:
                outcome = run(definition, handles)  # a missing key raises here
            except KeyError as exc:
                raise AssertionError(f"seed {seed}, {handles}: no key {exc}") from exc
            for node_id, got, state in outcome.inputs:
                for read in reading.get(node_id, []):
                    key = state_key(read)
                    assert got.get(key) == state.get(key), (seed, handles, node_id, read)
