"""Deep but valid graphs within the size limits (500 nodes, 2000 edges) compile to ASL that
Step Functions (and moto's parser) accepts, or are refused with a Problem naming the limit;
no shape exhausts the Python stack anywhere on the way."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest

from functions.core.errors import InvalidWorkflow
from functions.core.model.graph import MAX_BODY_DEPTH
from functions.core.model.workflow import Edge, Graph, Node, NodeType
from functions.core.services.definitions import build_definition
from functions.wiring import node_reads
from statemachines import compiler
from statemachines.compiler import CompileError, compile_workflow
from tests.unit.statemachines.asl import (
    TARGETS,
    body,
    check_run,
    check_structure,
    graph,
    parse_with_moto,
)

pytestmark = pytest.mark.usefixtures("deploy_env")

START = NodeType.START


def diamond_chain(count: int) -> Graph:
    """s -> {b0, c0} -> d0 -> {b1, c1} -> d1 -> ...: `count` diamonds one after another."""
    nodes: list[str | tuple[str, NodeType]] = [("s", START)]
    edges: list[tuple[str, str]] = []
    previous = "s"
    for i in range(count):
        nodes += [f"b{i}", f"c{i}", f"d{i}"]
        edges += [(previous, f"b{i}"), (previous, f"c{i}"), (f"b{i}", f"d{i}"), (f"c{i}", f"d{i}")]
        previous = f"d{i}"
    return graph(nodes, edges)


def nested_diamonds(count: int) -> Graph:
    """f0 -> {l0, f1}, f1 -> {l1, f2}, ...: each fork's second branch is the next diamond,
    and the joins close in reverse (l_i -> j_i, j_{i+1} -> j_i)."""
    nodes: list[str | tuple[str, NodeType]] = [("s", START)]
    edges: list[tuple[str, str]] = [("s", "f0")]
    for i in range(count):
        nodes += [f"f{i}", f"l{i}", f"j{i}"]
        edges += [(f"f{i}", f"l{i}"), (f"l{i}", f"j{i}")]
        inner, after = (f"f{i + 1}", f"j{i + 1}") if i + 1 < count else ("x", "x")
        edges += [(f"f{i}", inner), (after, f"j{i}")]
    nodes.append("x")
    return graph(nodes, edges)


def chain(count: int) -> Graph:
    nodes: list[str | tuple[str, NodeType]] = [("s", START), *(f"n{i}" for i in range(count - 1))]
    ids = ["s", *(f"n{i}" for i in range(count - 1))]
    return graph(nodes, list(itertools.pairwise(ids)))


def nested_containers(depth: int, kind: NodeType) -> Graph:
    """a -> c0, whose body is s0 -> c1, whose body is s1 -> c2 ... -> a leaf node."""
    start = NodeType.ITERATION_START if kind is NodeType.ITERATION else NodeType.LOOP_START
    nodes = [Node(id="a", type=NodeType.LLM, config={"prompt": "p"})]
    edges = []
    parent, previous = None, "a"
    for i in range(depth):
        config: dict[str, Any] = (
            {
                "iterator_selector": [parent, "item"] if parent else ["a", "text"],
                "output_selector": [f"c{i + 1}", "output"],
            }
            if kind is NodeType.ITERATION
            else {"loop_count": 2}
        )
        nodes.append(Node(id=f"c{i}", type=kind, config=config, parent=parent))
        edges.append(Edge(source=previous, target=f"c{i}"))
        nodes.append(Node(id=f"s{i}", type=start, parent=f"c{i}"))
        parent, previous = f"c{i}", f"s{i}"
    if kind is NodeType.ITERATION:
        nodes[-2].config["output_selector"] = ["leaf", "text"]
    nodes.append(Node(id="leaf", type=NodeType.LLM, config={"prompt": "p"}, parent=parent))
    edges.append(Edge(source=previous, target="leaf"))
    return Graph(nodes=nodes, edges=edges)


def compile_checked(g: Graph, entry: str) -> dict[str, Any]:
    definition = compile_workflow(g, entry=entry, targets=TARGETS, reads=node_reads)
    check_structure(definition)
    parse_with_moto(definition)
    return definition


def nesting(definition: dict[str, Any]) -> int:
    """How deeply Parallel and Map states nest in the machine (the outer body is 1)."""
    deepest = 0
    stack: list[tuple[dict[str, Any], int]] = [(body(definition), 1)]
    while stack:
        scope, depth = stack.pop()
        deepest = max(deepest, depth)
        for state in scope["States"].values():
            inner = [*state.get("Branches", [])]
            if "ItemProcessor" in state:
                inner.append(state["ItemProcessor"])
            stack.extend((branch, depth + 1) for branch in inner)
    return deepest


@pytest.mark.parametrize("count", [40, 160])
def test_a_chain_of_diamonds_compiles(count: int) -> None:
    g = diamond_chain(count)
    definition = compile_checked(g, "s")
    check_run(g, "s", definition, {})
    assert build_definition(g, "s") == definition


@pytest.mark.parametrize("count", [40, 166])
def test_nested_diamonds_compile_with_bounded_parallel_nesting(count: int) -> None:
    g = nested_diamonds(count)
    assert len(g.nodes) <= 500
    started = time.perf_counter()
    definition = build_definition(g, "s")
    assert time.perf_counter() - started < 5
    check_structure(definition)
    parse_with_moto(definition)
    assert nesting(definition) == compiler.MAX_NESTING
    # The regions past the nesting limit run one after the other, every edge kept.
    check_run(g, "s", definition, {})


def test_shallow_nested_diamonds_keep_every_parallel() -> None:
    g = nested_diamonds(compiler.MAX_NESTING - 1)
    definition = compile_checked(g, "s")
    assert nesting(definition) == compiler.MAX_NESTING


def test_a_chain_of_500_nodes_compiles() -> None:
    g = chain(500)
    definition = compile_checked(g, "s")
    check_run(g, "s", definition, {})
    build_definition(g, "s")


def test_a_chain_of_500_conditions_compiles() -> None:
    ids = [f"n{i}" for i in range(499)]
    nodes: list[str | tuple[str, NodeType]] = [("s", START), *((n, NodeType.IF_ELSE) for n in ids)]
    edges = [("s", ids[0]), *((a, b, "true") for a, b in itertools.pairwise(ids))]
    g = graph(nodes, edges)
    definition = compile_checked(g, "s")
    check_run(g, "s", definition, dict.fromkeys(ids, "true"))
    check_run(g, "s", definition, {**dict.fromkeys(ids, "true"), "n250": "false"})


@pytest.mark.parametrize("kind", [NodeType.ITERATION, NodeType.LOOP])
def test_containers_nest_up_to_the_limit(kind: NodeType) -> None:
    g = nested_containers(MAX_BODY_DEPTH, kind)
    definition = build_definition(g, "a")
    check_structure(definition)
    parse_with_moto(definition)


@pytest.mark.parametrize("kind", [NodeType.ITERATION, NodeType.LOOP])
@pytest.mark.parametrize("depth", [MAX_BODY_DEPTH + 1, 249])
def test_deeper_containers_are_refused_naming_the_limit(kind: NodeType, depth: int) -> None:
    g = nested_containers(depth, kind)
    assert len(g.nodes) <= 500
    with pytest.raises(InvalidWorkflow) as caught:
        build_definition(g, "a")
    assert [str(p) for p in caught.value.problems] == [
        f"node 'c{MAX_BODY_DEPTH}': its body would be nested {MAX_BODY_DEPTH + 1} "
        f"iteration/loop bodies deep; at most {MAX_BODY_DEPTH} may nest"
    ]
    with pytest.raises(CompileError, match=f"at most {MAX_BODY_DEPTH} may nest"):
        compile_workflow(g, entry="a", targets=TARGETS, reads=node_reads)


def test_containers_that_contain_each_other_are_refused() -> None:
    g = Graph(
        nodes=[
            Node(id="a", type=NodeType.LLM, config={"prompt": "p"}),
            Node(id="x", type=NodeType.LOOP, config={"loop_count": 2}, parent="y"),
            Node(id="sx", type=NodeType.LOOP_START, parent="x"),
            Node(id="y", type=NodeType.LOOP, config={"loop_count": 2}, parent="x"),
            Node(id="sy", type=NodeType.LOOP_START, parent="y"),
            Node(id="r", type=NodeType.LLM, config={"prompt": "{{#a.text#}}"}, parent="y"),
        ],
        edges=[Edge(source="sy", target="r")],
    )
    with pytest.raises(InvalidWorkflow) as caught:
        build_definition(g, "a")
    assert "nodes x, y: contain each other (their parents form a cycle)" in [
        str(p) for p in caught.value.problems
    ]


def test_deep_parallels_inside_iterations_stay_within_the_nesting_limit() -> None:
    """Map levels count towards the limit: inside the deepest body, fewer Parallels nest."""
    g = nested_containers(MAX_BODY_DEPTH, NodeType.ITERATION)
    inner = nested_diamonds(30)
    parent = f"c{MAX_BODY_DEPTH - 1}"
    nodes = [n for n in g.nodes if n.id != "leaf"]
    nodes += [
        n.model_copy(update={"parent": parent, "id": f"in_{n.id}"})
        for n in inner.nodes
        if n.type is not START
    ]
    edges = [e for e in g.edges if e.target != "leaf"]
    edges.append(Edge(source=f"s{MAX_BODY_DEPTH - 1}", target="in_f0"))
    edges += [
        Edge(source=f"in_{e.source}", target=f"in_{e.target}")
        for e in inner.edges
        if e.source != "s"
    ]
    for node in nodes:
        if node.id == parent:
            node.config["output_selector"] = ["in_j0", "text"]
    definition = compile_checked(Graph(nodes=nodes, edges=edges), "a")
    assert nesting(definition) == compiler.MAX_NESTING
