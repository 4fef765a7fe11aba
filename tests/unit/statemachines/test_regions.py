"""A fork whose branches never meet again is cut from its dominator subtree, without the
walk of its region (statemachines/compiler/regions.py); both must find the same
branches, in the same order, on graphs with dead ends, shared nodes and nodes that
nothing reaches (whose edges make a region two-entry)."""

from __future__ import annotations

import random

from functions.core.model.graph import VIRTUAL_EXIT, DominatorTree, immediate_dominators
from functions.core.model.workflow import Edge, Graph, Node, NodeType
from statemachines.compiler import regions
from statemachines.compiler.dominance import Escapes
from statemachines.compiler.structure import Structure


def dead_end_graph(seed: int, size: int) -> Graph:
    """Each node hangs off 1-2 of the last 6 or, one in four, off any earlier node, which
    leaves many dead ends; one in twelve has no incoming edge (nothing reaches it)."""
    rng = random.Random(seed)
    nodes = [Node(id="n0", type=NodeType.TOOL, config={})]
    edges: list[Edge] = []
    for i in range(1, size):
        nodes.append(Node(id=f"n{i}", type=NodeType.TOOL, config={}))
        if rng.random() < 1 / 12:
            continue
        window = range(0, i) if rng.random() < 0.25 else range(max(0, i - 6), i)
        for source in rng.sample(window, k=min(len(window), rng.choice((1, 1, 2)))):
            edges.append(Edge(source=f"n{source}", target=f"n{i}"))
    return Graph(nodes=nodes, edges=edges)


def walked(structure: Structure, fork: str, tree: DominatorTree) -> list[list[str]]:
    """The branches as the walk finds them (what the compiler does where they meet)."""
    members = set(structure.nodes)
    starts = [e.target for e in structure.outgoing(fork)]
    region = regions._region(structure, fork, starts, members, join=VIRTUAL_EXIT, dominators=tree)
    if region is None:
        return []
    found = regions._components(structure, region)
    rank = {n: i for i, n in enumerate(structure.order(list(structure.nodes)))}
    return [sorted(c, key=rank.__getitem__) for c in found] if len(found) > 1 else []


def test_branches_that_never_meet_are_cut_as_the_walk_finds_them() -> None:
    compared, parallels = 0, 0
    for seed in range(40):
        graph = dead_end_graph(seed, 60)
        structure = Structure(graph)
        order = structure.order(list(structure.nodes))
        members = set(order)
        preds = {n: [e.source for e in structure.incoming(n)] for n in order}
        tree = DominatorTree(immediate_dominators(order, preds, "n0"), "n0")
        cut = regions.Regions(structure, order, members, "n0", tree, depth=1)
        postdom = structure.post_dominators(order, members)
        escapes = Escapes(structure, order, members, tree)
        for at, fork in enumerate(order):
            targets = {e.target for e in structure.outgoing(fork)}
            never_meet = postdom.get(fork, VIRTUAL_EXIT) == VIRTUAL_EXIT
            if len(targets) < 2 or not never_meet or fork not in tree.idom:
                continue
            if escapes.leaves(fork, VIRTUAL_EXIT):
                continue
            found = cut._apart(fork, order, at)
            assert found == walked(structure, fork, tree), (seed, fork)
            compared += 1
            parallels += bool(found)
    # The graphs gave forks of both kinds: cut into branches, and one region or two-entry.
    assert parallels > 20, parallels
    assert compared - parallels > 20, compared
