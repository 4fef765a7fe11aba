"""The graph as the compiler reads it: edges in and out of each node, the nodes of each
graph level (the top level or a container's body), their order and post-dominators."""

from __future__ import annotations

from collections import deque

from functions.core.model.graph import VIRTUAL_EXIT, immediate_dominators
from functions.core.model.workflow import BODY_START_TYPES, Edge, Graph, Node, NodeType
from statemachines.compiler.asl import CompileError


class Structure:
    def __init__(self, graph: Graph) -> None:
        self.nodes = {n.id: n for n in graph.nodes}
        self._out: dict[str, list[Edge]] = {n.id: [] for n in graph.nodes}
        self._in: dict[str, list[Edge]] = {n.id: [] for n in graph.nodes}
        for edge in graph.edges:
            if edge.source in self.nodes and edge.target in self.nodes:
                self._out[edge.source].append(edge)
                self._in[edge.target].append(edge)
        self.declared = {n.id: i for i, n in enumerate(graph.nodes)}
        self._bodies: dict[str, list[str]] = {}
        for node_id, node in self.nodes.items():
            if node.parent is not None:
                self._bodies.setdefault(node.parent, []).append(node_id)

    def outgoing(self, node_id: str) -> list[Edge]:
        return self._out[node_id]

    def incoming(self, node_id: str) -> list[Edge]:
        return self._in[node_id]

    def body(self, container_id: str) -> list[str]:
        """The nodes of a container's body."""
        return list(self._bodies.get(container_id, []))

    def body_start(self, scope: list[str]) -> str | None:
        return next((n for n in scope if self.nodes[n].type in BODY_START_TYPES), None)

    def enclosing_iteration(self, node: Node) -> Node | None:
        """The innermost iteration whose body holds `node`, if any."""
        parent = self.nodes.get(node.parent) if node.parent else None
        while parent is not None:  # bounded: compile_workflow refused loops of parents
            if parent.type is NodeType.ITERATION:
                return parent
            parent = self.nodes.get(parent.parent) if parent.parent else None
        return None

    def order(self, scope: list[str]) -> list[str]:
        """Topological order that keeps chains together: after a node, its ready successors
        come first, so a region's nodes tend to be contiguous."""
        members = set(scope)
        indegree = {n: sum(1 for e in self._in[n] if e.source in members) for n in scope}
        ready = deque(sorted((n for n in scope if indegree[n] == 0), key=self.declared.__getitem__))
        order: list[str] = []
        while ready:
            node_id = ready.popleft()
            order.append(node_id)
            fresh = set()
            for edge in self._out[node_id]:
                if edge.target in members:
                    indegree[edge.target] -= 1
                    if indegree[edge.target] == 0:
                        fresh.add(edge.target)
            ready.extendleft(sorted(fresh, key=self.declared.__getitem__, reverse=True))
        if len(order) != len(scope):
            raise CompileError("the graph has a cycle")
        return order

    def post_dominators(self, order: list[str], members: set[str]) -> dict[str, str]:
        reverse = [VIRTUAL_EXIT, *reversed(order)]
        succs: dict[str, list[str]] = {
            n: [e.target for e in self._out[n] if e.target in members] or [VIRTUAL_EXIT]
            for n in order
        }
        return immediate_dominators(reverse, succs, VIRTUAL_EXIT)
