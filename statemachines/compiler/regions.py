"""One graph level cut into items: a node, or the Parallel of the independent sub-graphs
a fork fans out into where they meet again (a single-entry, single-exit region). Any
other fan-out (crossing dependencies) stays in topological order, which honours every
edge, and so does a region nested deeper than MAX_NESTING Parallel/Map states."""

from __future__ import annotations

from dataclasses import dataclass, field

from functions.core.model.graph import VIRTUAL_EXIT, DominatorTree, immediate_dominators
from statemachines.compiler.asl import MAX_NESTING
from statemachines.compiler.liveness import always_taken
from statemachines.compiler.structure import Structure


@dataclass
class NodeItem:
    node_id: str


@dataclass
class ParallelItem:
    fork: str
    branches: list[list[str]] = field(default_factory=list)


Item = NodeItem | ParallelItem


def nodes_of(item: Item) -> list[str]:
    if isinstance(item, NodeItem):
        return [item.node_id]
    return [n for branch in item.branches for n in branch]


def dominated(item: Item, node_id: str, dominators: DominatorTree) -> bool:
    anchor = item.fork if isinstance(item, ParallelItem) else item.node_id
    return dominators.dominates(node_id, anchor)


def items(
    structure: Structure,
    order: list[str],
    members: set[str],
    dominators: DominatorTree,
    *,
    depth: int,
    escapes: Escapes | None = None,
) -> list[Item]:
    """`escapes`: given when `dominators` is the tree of exactly `members` (a whole
    graph level, not one branch of it), to refuse most forks without walking them."""
    if depth >= MAX_NESTING:
        # No room for another Parallel: the whole scope in topological order.
        return [NodeItem(n) for n in order]
    postdom = structure.post_dominators(order, members)
    found: list[Item] = []
    placed: set[str] = set()
    for node_id in order:
        if node_id in placed:
            continue
        placed.add(node_id)
        found.append(NodeItem(node_id))
        branches = _parallel_branches(
            structure,
            node_id,
            order,
            members,
            postdom=postdom,
            dominators=dominators,
            escapes=escapes,
        )
        if branches:
            found.append(ParallelItem(node_id, branches))
            placed.update(n for branch in branches for n in branch)
    return found


def _parallel_branches(
    structure: Structure,
    fork: str,
    order: list[str],
    members: set[str],
    *,
    postdom: dict[str, str],
    dominators: DominatorTree,
    escapes: Escapes | None,
) -> list[list[str]]:
    """The independent sub-graphs between `fork` and the node where they all meet, if
    the region between them has no other entry; else [] (serialised in order)."""
    edges = [e for e in structure.outgoing(fork) if e.target in members]
    if len({e.target for e in edges}) < 2 or not all(always_taken(structure, e) for e in edges):
        return []
    # Every path from the fork passes the join, so the nodes between them are those
    # reached from the fork without passing the join.
    join = postdom.get(fork, VIRTUAL_EXIT)
    if escapes is not None and escapes.leaves(fork, join):
        # The walk below would meet a second entry; known without walking, which on
        # deep graphs would cost O(nodes) per fork.
        return []
    region = _region(
        structure, fork, [e.target for e in edges], members, join=join, dominators=dominators
    )
    if region is None:
        return []
    components = _components(structure, region)
    if len(components) < 2:
        return []
    position = {n: i for i, n in enumerate(order)}
    return [sorted(c, key=position.__getitem__) for c in components]


def _region(
    structure: Structure,
    fork: str,
    starts: list[str],
    members: set[str],
    *,
    join: str,
    dominators: DominatorTree,
) -> set[str] | None:
    """The nodes reached from the fork without passing the join, or None as soon as
    one of them can also be entered from outside (the region is not single-entry)."""
    seen: set[str] = set()
    stack = list(starts)
    while stack:
        node_id = stack.pop()
        if node_id == join or node_id not in members or node_id in seen:
            continue
        for edge in structure.incoming(node_id):
            if edge.source != fork and not dominators.dominates(fork, edge.source):
                return None
        seen.add(node_id)
        stack.extend(e.target for e in structure.outgoing(node_id))
    return seen


def _components(structure: Structure, region: set[str]) -> list[set[str]]:
    """Weakly connected parts of the region, in the order their first node was declared."""
    components: list[set[str]] = []
    assigned: set[str] = set()
    for start in sorted(region, key=structure.declared.__getitem__):
        if start in assigned:
            continue
        component: set[str] = set()
        stack = [start]
        while stack:
            node_id = stack.pop()
            if node_id in component:
                continue
            component.add(node_id)
            neighbours = [e.target for e in structure.outgoing(node_id)] + [
                e.source for e in structure.incoming(node_id)
            ]
            stack.extend(n for n in neighbours if n in region)
        assigned |= component
        components.append(component)
    return components


def escapes_of(structure: Structure, item: ParallelItem, branch: list[str]) -> Escapes:
    """Escapes within one branch of a Parallel. Every predecessor of a branch node is
    the fork or in the branch (the region was single-entry), so the graph level's
    dominator tree, restricted to the branch, is the dominator tree of the fork and the
    branch alone, which is cheap to build."""
    order = [item.fork, *branch]
    within = set(order)
    preds = {n: [e.source for e in structure.incoming(n) if e.source in within] for n in branch}
    tree = DominatorTree(immediate_dominators(order, preds, item.fork), item.fork)
    return Escapes(structure, order, set(branch), tree)


class Escapes:
    """For each node f of one graph level: whether an edge from inside f's dominator
    subtree enters a node that f does not dominate, other than a given join.

    Such a node is reached from f, yet has a predecessor f does not dominate, so the region
    of a fork f whose join lies outside its subtree is not single-entry. An edge u -> w
    leaves the subtrees of exactly the tree ancestors of u deeper than idom(w) (Cytron's
    dominance frontier), so one pass from the leaves up, keeping per subtree the two
    distinct such w with the shallowest idom, answers every fork in O(1): O(n) per level
    instead of a walk per fork.
    """

    def __init__(
        self,
        structure: Structure,
        order: list[str],
        members: set[str],
        dominators: DominatorTree,
    ) -> None:
        self._dominators = dominators
        idom = dominators.idom
        self._depth: dict[str, int] = {}
        for node in order:  # topological: a node's idom comes before it
            if node in idom:
                parent = idom[node]
                self._depth[node] = 0 if parent == node else self._depth[parent] + 1
        self._best: dict[str, list[tuple[int, str]]] = {}
        for node in reversed(order):  # a subtree's nodes before its root
            if node not in self._depth:
                continue
            best = self._best.setdefault(node, [])
            for edge in structure.outgoing(node):
                target = edge.target
                if target in members and target in idom and idom[target] != node:
                    _keep_two(best, (self._depth[idom[target]], target))
            parent = idom[node]
            if parent != node:
                parent_best = self._best.setdefault(parent, [])
                for escape in best:
                    _keep_two(parent_best, escape)

    def leaves(self, fork: str, join: str) -> bool:
        """True when the fork's region surely has a second entry (False: walk it)."""
        depth = self._depth.get(fork)
        if depth is None:
            return False
        # A join inside the subtree would cut paths from the fork to its later nodes.
        if join != VIRTUAL_EXIT and self._dominators.dominates(fork, join):
            return False
        return any(level < depth and target != join for level, target in self._best[fork])


def _keep_two(best: list[tuple[int, str]], escape: tuple[int, str]) -> None:
    """Keep in `best` the two escapes of distinct targets with the shallowest idoms: if
    any escape avoids a given join and is shallow enough, one of these two does."""
    level, target = escape
    for index, (kept_level, kept_target) in enumerate(best):
        if kept_target == target:
            if level < kept_level:
                best[index] = escape
                best.sort()
            return
    best.append(escape)
    best.sort()
    del best[2:]
