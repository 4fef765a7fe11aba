"""One graph level cut into items: a node, or the Parallel of the independent sub-graphs
a fork fans out into where they meet again (a single-entry, single-exit region). Any
other fan-out (crossing dependencies) stays in topological order, which honours every
edge, and so does a region nested deeper than MAX_NESTING Parallel/Map states. Each
branch of a Parallel is a level in turn."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from functions.core.model.graph import VIRTUAL_EXIT, DominatorTree, immediate_dominators
from statemachines.compiler.asl import MAX_NESTING
from statemachines.compiler.dominance import Escapes, Subtrees
from statemachines.compiler.liveness import always_taken
from statemachines.compiler.structure import Structure


@dataclass
class NodeItem:
    node_id: str


@dataclass
class ParallelItem:
    fork: str
    branches: list[Level] = field(default_factory=list)


Item = NodeItem | ParallelItem


@dataclass(eq=False)
class Level:
    """The items of one graph level: a sequence (entered at its `head`) or one branch of
    a Parallel (entered at the Parallel's fork, `head`, which ran), inside the ParallelItem
    at `index` of its `parent`, `nesting` levels below the sequence's. `position`: the
    item index of each of its own nodes."""

    head: str
    parent: Level | None = None
    index: int = 0
    nesting: int = 0
    items: list[Item] = field(default_factory=list)
    position: dict[str, int] = field(default_factory=dict)

    def nodes(self) -> list[str]:
        """Its own nodes (not those of its Parallels' branches), in order."""
        return [item.node_id for item in self.items if isinstance(item, NodeItem)]


def dominated(item: Item, node_id: str, dominators: DominatorTree) -> bool:
    anchor = item.fork if isinstance(item, ParallelItem) else item.node_id
    return dominators.dominates(node_id, anchor)


class Regions:
    """The levels of one sequence (a top level or a body) and the branches of every
    Parallel in it, all cut into items up front.

    Where a fork's branches never meet again (its join is the level's exit), its region is
    closed: the branches' post-dominators and escapes are those of the fork's level, and
    the region is the fork's dominator subtree, so nothing is walked or computed again per
    nesting level. Branches that meet at a join are walked, and their levels analysed
    afresh (a branch's edges to the join are its exits, which changes post-dominance)."""

    def __init__(
        self,
        structure: Structure,
        order: list[str],
        members: set[str],
        head: str,
        dominators: DominatorTree,
        *,
        depth: int,
    ) -> None:
        self.structure = structure
        self.dominators = dominators
        self._subtrees = Subtrees(structure, order, dominators)
        self._level_of: dict[str, Level] = {}
        # Each level's order is a subsequence of the sequence's.
        self._rank = {n: i for i, n in enumerate(order)}
        self.top = Level(head)
        self._cut(
            self.top,
            order,
            members,
            depth=depth,
            postdom=None,
            escapes=Escapes(structure, order, members, dominators),
        )

    def index_at(self, level: Level, node_id: str) -> int | None:
        """The index of the item of `level` that holds `node_id` (itself or a Parallel
        around it), or None when the node is not in the level."""
        found = self._level_of.get(node_id)
        if found is None:
            return None
        index = found.position[node_id]
        while found.nesting > level.nesting:
            assert found.parent is not None  # only a sequence's level has no parent
            index, found = found.index, found.parent
        return index if found is level else None

    def branch_under(self, level: Level, node_id: str) -> Level | None:
        """The branch of one of `level`'s Parallels that holds `node_id`, if any."""
        found = self._level_of.get(node_id)
        while found is not None and found.nesting > level.nesting + 1:
            found = found.parent
        return found if found is not None and found.parent is level else None

    def _cut(
        self,
        level: Level,
        order: list[str],
        members: set[str],
        *,
        depth: int,
        postdom: dict[str, str] | None,
        escapes: Escapes,
    ) -> None:
        """Fill `level` with the items of the nodes of `order` (topological), each branch
        found cut in turn. `members`: a set of the level's nodes and of no other node an
        edge from them enters (a closed branch keeps its level's set). `postdom` and
        `escapes`: the level's analysis (post-dominators computed here when None)."""
        if depth >= MAX_NESTING:
            # No room for another Parallel: the whole scope in topological order.
            for node_id in order:
                self._add(level, node_id)
            return
        if postdom is None:
            postdom = self.structure.post_dominators(order, members)
        for at, node_id in enumerate(order):
            if node_id in self._level_of:
                continue  # in a branch cut before
            self._add(level, node_id)
            branches, closed = self._branches(
                node_id, order, at, members, postdom=postdom, escapes=escapes
            )
            if not branches:
                continue
            item = ParallelItem(node_id)
            index = len(level.items)
            level.items.append(item)
            for branch in branches:
                inner = Level(node_id, level, index, level.nesting + 1)
                item.branches.append(inner)
                self._cut(
                    inner,
                    branch,
                    members if closed else set(branch),
                    depth=depth + 1,
                    postdom=postdom if closed else None,
                    escapes=escapes if closed else self._escapes_of(node_id, branch),
                )

    def _add(self, level: Level, node_id: str) -> None:
        level.position[node_id] = len(level.items)
        level.items.append(NodeItem(node_id))
        self._level_of[node_id] = level

    def _branches(
        self,
        fork: str,
        order: list[str],
        at: int,
        members: set[str],
        *,
        postdom: dict[str, str],
        escapes: Escapes,
    ) -> tuple[list[list[str]], bool]:
        """The independent sub-graphs between `fork` (at `order[at]`) and the node where
        they all meet, if the region between them has no other entry, else [] (serialised
        in order); and whether they never meet (the region is closed)."""
        edges = [e for e in self.structure.outgoing(fork) if e.target in members]
        if len({e.target for e in edges}) < 2 or not all(
            always_taken(self.structure, e) for e in edges
        ):
            return [], False
        # Every path from the fork passes the join, so the nodes between them are those
        # reached from the fork without passing the join.
        join = postdom.get(fork, VIRTUAL_EXIT)
        if escapes.leaves(fork, join):
            # The walk below would meet a second entry; known without walking.
            return [], False
        if join == VIRTUAL_EXIT and fork in self.dominators.idom:
            return self._apart(fork, order, at), True
        region = _region(
            self.structure,
            fork,
            [e.target for e in edges],
            members,
            join=join,
            dominators=self.dominators,
        )
        if region is None:
            return [], False
        components = _components(self.structure, region)
        if len(components) < 2:
            return [], False
        return [sorted(c, key=self._rank.__getitem__) for c in components], False

    def _apart(self, fork: str, order: list[str], at: int) -> list[list[str]]:
        """The branches of a reachable fork with no escape and no join: its region is what
        it dominates, single-entry unless some node there has a predecessor outside the
        tree. Two children's subtrees are joined only by edges into a child itself (any
        other node one edge enters from another subtree would be reached avoiding its
        subtree's root), so the branches are the children merged along those edges."""
        subtrees = self._subtrees
        children = subtrees.children(fork)
        if any(subtrees.foreign(c) for c in children):
            return []
        merged = {c: c for c in children}

        def root(child: str) -> str:
            while merged[child] != child:
                merged[child] = merged[merged[child]]
                child = merged[child]
            return child

        for child in children:
            for edge in self.structure.incoming(child):
                if edge.source != fork:
                    merged[root(subtrees.child_holding(fork, edge.source))] = root(child)
        first: dict[str, int] = {}  # each branch's lowest declared index
        for child in children:
            top, lowest = root(child), subtrees.first(child)
            first[top] = min(first.get(top, lowest), lowest)
        if len(first) < 2:
            return []
        # In the order their first node was declared, each in the level's order.
        branches: dict[str, list[str]] = {top: [] for top in sorted(first, key=first.__getitem__)}
        idom = self.dominators.idom
        under: dict[str, str] = {}  # each node of the region -> its branch
        left = subtrees.size(fork) - 1
        for node_id in itertools.islice(order, at + 1, None):
            if not left:
                break
            parent = idom.get(node_id)
            if parent == fork:
                under[node_id] = root(node_id)
            elif parent is not None and parent in under:
                under[node_id] = under[parent]
            else:
                continue
            branches[under[node_id]].append(node_id)
            left -= 1
        return list(branches.values())

    def _escapes_of(self, fork: str, branch: list[str]) -> Escapes:
        """Escapes within one branch of a Parallel. Every predecessor of a branch node is
        the fork or in the branch (the region was single-entry), so the graph level's
        dominator tree, restricted to the branch, is the dominator tree of the fork and the
        branch alone, which is cheap to build."""
        order = [fork, *branch]
        within = set(order)
        preds = {
            n: [e.source for e in self.structure.incoming(n) if e.source in within] for n in branch
        }
        tree = DominatorTree(immediate_dominators(order, preds, fork), fork)
        return Escapes(self.structure, order, set(branch), tree)


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
