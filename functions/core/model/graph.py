"""Pure graph algorithms over the workflow model: order, reachability, cycles."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping

from functions.core.model.workflow import Edge, Graph


class Adjacency:
    """Incoming/outgoing edges by node id, built once per graph."""

    def __init__(self, graph: Graph) -> None:
        self.node_ids = [n.id for n in graph.nodes]
        self.outgoing: dict[str, list[Edge]] = defaultdict(list)
        self.incoming: dict[str, list[Edge]] = defaultdict(list)
        known = set(self.node_ids)
        for edge in graph.edges:
            if edge.source in known and edge.target in known:
                self.outgoing[edge.source].append(edge)
                self.incoming[edge.target].append(edge)

    def roots(self) -> list[str]:
        return [n for n in self.node_ids if not self.incoming[n]]

    def successors(self, node_id: str) -> list[str]:
        return _unique(e.target for e in self.outgoing[node_id])

    def predecessors(self, node_id: str) -> list[str]:
        return _unique(e.source for e in self.incoming[node_id])


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _kahn(adj: Adjacency) -> list[str]:
    """The nodes Kahn's algorithm can order (all of them unless there is a cycle)."""
    position = {node_id: i for i, node_id in enumerate(adj.node_ids)}
    indegree = {n: len(adj.predecessors(n)) for n in adj.node_ids}
    ready = deque(sorted((n for n, d in indegree.items() if d == 0), key=position.__getitem__))
    order: list[str] = []
    while ready:
        node_id = ready.popleft()
        order.append(node_id)
        for succ in adj.successors(node_id):
            indegree[succ] -= 1
            if indegree[succ] == 0:
                ready.append(succ)
    return order


def nodes_on_cycles(adj: Adjacency) -> list[str]:
    """Nodes on a cycle or between two cycles, in linear time: what remains after peeling
    off, from both ends, every node that a topological order can place."""
    remaining = set(adj.node_ids) - set(_kahn(adj))
    outdegree = {n: sum(1 for s in adj.successors(n) if s in remaining) for n in remaining}
    sinks = [n for n, d in outdegree.items() if d == 0]
    while sinks:
        node_id = sinks.pop()
        remaining.discard(node_id)
        for pred in adj.predecessors(node_id):
            if pred in remaining:
                outdegree[pred] -= 1
                if outdegree[pred] == 0:
                    sinks.append(pred)
    return [n for n in adj.node_ids if n in remaining]


def reachable_from(adj: Adjacency, starts: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    stack = list(starts)
    while stack:
        node_id = stack.pop()
        if node_id not in seen:
            seen.add(node_id)
            stack.extend(adj.successors(node_id))
    return seen


def ancestors(adj: Adjacency, node_id: str) -> set[str]:
    seen: set[str] = set()
    stack = adj.predecessors(node_id)
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(adj.predecessors(current))
    return seen


VIRTUAL_EXIT = "\x00exit"


def immediate_dominators(
    order: list[str], preds: dict[str, list[str]], root: str
) -> dict[str, str]:
    """Immediate dominators in a DAG whose `order` is topological and starts at `root`
    (Cooper, Harvey & Kennedy's intersection walk; one pass suffices without cycles)."""
    index = {node: i for i, node in enumerate(order)}
    idom: dict[str, str] = {root: root}

    def intersect(a: str, b: str) -> str:
        while a != b:
            while index[a] > index[b]:
                a = idom[a]
            while index[b] > index[a]:
                b = idom[b]
        return a

    for node in order[1:]:
        processed = [p for p in preds.get(node, []) if p in idom]
        if not processed:
            continue
        current = processed[0]
        for other in processed[1:]:
            current = intersect(current, other)
        idom[node] = current
    return idom


class DominatorTree:
    """Answers "does a dominate b" in O(1) from pre/post numbers of the dominator tree."""

    def __init__(self, idom: dict[str, str], root: str) -> None:
        children: dict[str, list[str]] = defaultdict(list)
        for node, parent in idom.items():
            if node != root:
                children[parent].append(node)
        self.enter: dict[str, int] = {}
        self.leave: dict[str, int] = {}
        clock = 0
        stack: list[tuple[str, bool]] = [(root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                self.leave[node] = clock
            else:
                self.enter[node] = clock
                stack.append((node, True))
                stack.extend((child, False) for child in children[node])
            clock += 1
        self.idom = idom

    def dominates(self, a: str, b: str) -> bool:
        if a not in self.enter or b not in self.enter:
            return False
        return self.enter[a] <= self.enter[b] and self.leave[b] <= self.leave[a]


# Iteration/loop bodies nested in one another. Each iteration body is a `Map` inside the
# machine, and the compiler recurses once per body, so the depth is bounded.
MAX_BODY_DEPTH = 8


def body_depths(parents: Mapping[str, str | None]) -> tuple[dict[str, int], list[str]]:
    """How many container bodies each node sits in (0 at the top level; a missing parent
    counts as the top level), and the nodes on a loop of parents, in `parents`' order.
    Nodes on or inside such a loop get no depth. Iterative: a chain of parents is bounded
    only by the number of nodes."""
    depths: dict[str, int] = {}
    looping: set[str] = set()  # on a loop of parents or inside one
    on_loops: set[str] = set()
    for node_id in parents:
        path: list[str] = []
        position: dict[str, int] = {}
        current: str | None = node_id
        while current is not None and current in parents:
            if current in depths:
                base = depths[current] + 1
                break
            if current in looping or current in position:
                if current in position:
                    on_loops.update(path[position[current] :])
                looping.update(path)
                path = []
                base = 0
                break
            position[current] = len(path)
            path.append(current)
            current = parents[current]
        else:
            base = 0  # the chain left the known nodes: its last node is at the top level
        for offset, member in enumerate(reversed(path)):
            depths[member] = base + offset
    return depths, [n for n in parents if n in on_loops]
