"""What the dominator tree of one sequence (a top level or a body) tells about its forks
without walking the nodes after them: whether a fork's region surely has a second entry
(Escapes), and how the sub-graphs below a fork fall apart (Subtrees). One pass each per
sequence, so the nested regions of a deep graph cost O(n) together, not O(n) each."""

from __future__ import annotations

from bisect import bisect_right

from functions.core.model.graph import VIRTUAL_EXIT, DominatorTree
from statemachines.compiler.structure import Structure


class Subtrees:
    """Per node of the dominator tree: its children (by entry time), whether some node of
    its subtree has a predecessor outside the tree (unreachable from the head, so no
    region holding that node is single-entry), the lowest declared index in it, and its
    size."""

    def __init__(self, structure: Structure, order: list[str], dominators: DominatorTree) -> None:
        idom = dominators.idom
        self._enter = dominators.enter
        self._children: dict[str, list[str]] = {n: [] for n in idom}
        self._foreign: dict[str, bool] = {}
        self._first: dict[str, int] = {}
        self._size: dict[str, int] = {}
        for node in order:
            if node in idom:
                self._foreign[node] = any(e.source not in idom for e in structure.incoming(node))
                self._first[node] = structure.declared[node]
                self._size[node] = 1
        for node in reversed(order):  # topological: a subtree's nodes before its root
            parent = idom.get(node)
            if parent is not None and parent != node:
                self._children[parent].append(node)
                self._foreign[parent] = self._foreign[parent] or self._foreign[node]
                self._first[parent] = min(self._first[parent], self._first[node])
                self._size[parent] += self._size[node]
        self._entries: dict[str, list[int]] = {}
        for children in self._children.values():
            children.sort(key=self._enter.__getitem__)

    def children(self, node: str) -> list[str]:
        return self._children[node]

    def foreign(self, node: str) -> bool:
        return self._foreign[node]

    def first(self, node: str) -> int:
        return self._first[node]

    def size(self, node: str) -> int:
        return self._size[node]

    def child_holding(self, node: str, descendant: str) -> str:
        """The child of `node` whose subtree holds `descendant` (a proper descendant)."""
        children = self._children[node]
        entries = self._entries.get(node)
        if entries is None:
            entries = self._entries[node] = [self._enter[c] for c in children]
        return children[bisect_right(entries, self._enter[descendant]) - 1]


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
