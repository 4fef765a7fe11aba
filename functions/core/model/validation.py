"""Validation of a workflow graph: every problem at once, each naming its node or edge."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from functions.core.errors import InvalidWorkflow, Problem
from functions.core.expressions.templates import RESERVED_ROOTS, Selector
from functions.core.model.graph import Adjacency, ancestors, nodes_on_cycles, reachable_from
from functions.core.model.workflow import BRANCHING_TYPES, Graph, Node

# Returns the problems in one node's config and the selectors it references.
ConfigCheck = Callable[[Node], tuple[list[str], list[Selector]]]


def validate_graph(
    graph: Graph,
    *,
    entry: str | None,
    check_config: ConfigCheck,
    max_nodes: int,
    max_edges: int,
    handles: Callable[[Node], set[str] | None],
) -> None:
    """Raise InvalidWorkflow listing every problem; return quietly when the graph is sound.

    `handles(node)` gives the outgoing handles a branching node may use (None: any).
    """
    problems: list[Problem] = []
    problems += _limits(graph, max_nodes, max_edges)
    problems += _duplicates(graph)
    ids = {n.id for n in graph.nodes}
    problems += _edges(graph, ids, handles)
    adj = Adjacency(graph)
    cyclic = nodes_on_cycles(adj)
    if cyclic:
        problems.append(Problem(f"nodes {', '.join(cyclic)}", "form a cycle"))
    if not graph.nodes:
        problems.append(Problem("nodes", "a workflow needs at least one node"))
    elif entry is None:
        problems.append(Problem("nodes", "no start node"))
    else:
        problems += _reachability(adj, entry)
    for node in graph.nodes:
        config_problems, selectors = check_config(node)
        problems += [Problem(f"node '{node.id}'", p) for p in config_problems]
        if not cyclic:
            problems += _references(adj, node, selectors, ids)
    if problems:
        raise InvalidWorkflow(problems)


def _limits(graph: Graph, max_nodes: int, max_edges: int) -> Iterable[Problem]:
    if len(graph.nodes) > max_nodes:
        yield Problem("nodes", f"{len(graph.nodes)} nodes exceed the limit of {max_nodes}")
    if len(graph.edges) > max_edges:
        yield Problem("edges", f"{len(graph.edges)} edges exceed the limit of {max_edges}")


def _duplicates(graph: Graph) -> Iterable[Problem]:
    for node_id, count in Counter(n.id for n in graph.nodes).items():
        if count > 1:
            yield Problem(f"node '{node_id}'", f"id is used by {count} nodes")


def _edges(
    graph: Graph, ids: set[str], handles: Callable[[Node], set[str] | None]
) -> Iterable[Problem]:
    by_id = {n.id: n for n in graph.nodes}
    for edge in graph.edges:
        where = f"edge {edge.key}"
        for end in (edge.source, edge.target):
            if end not in ids:
                yield Problem(where, f"refers to unknown node '{end}'")
        source = by_id.get(edge.source)
        if source is None:
            continue
        if source.type in BRANCHING_TYPES:
            allowed = handles(source)
            if edge.source_handle is None:
                yield Problem(where, f"leaves condition node '{source.id}' without a condition")
            elif allowed is not None and edge.source_handle not in allowed:
                yield Problem(
                    where,
                    f"condition '{edge.source_handle}' is not one of {sorted(allowed)}",
                )
        elif edge.source_handle is not None:
            yield Problem(
                where,
                f"has condition '{edge.source_handle}' but '{source.id}' is not a condition node",
            )


def _reachability(adj: Adjacency, entry: str) -> Iterable[Problem]:
    if adj.incoming[entry]:
        yield Problem(f"node '{entry}'", "the first node must not have incoming edges")
    reached = reachable_from(adj, [entry])
    for node_id in adj.node_ids:
        if node_id not in reached:
            yield Problem(f"node '{node_id}'", f"is unreachable from '{entry}'")


def _references(
    adj: Adjacency, node: Node, selectors: list[Selector], ids: set[str]
) -> Iterable[Problem]:
    upstream: set[str] | None = None
    for selector in selectors:
        root = selector[0]
        if root in RESERVED_ROOTS:
            continue
        if root not in ids:
            yield Problem(f"node '{node.id}'", f"references unknown node '{root}'")
            continue
        upstream = upstream if upstream is not None else ancestors(adj, node.id)
        if root not in upstream:
            yield Problem(
                f"node '{node.id}'",
                f"references '{'.'.join(selector)}' but '{root}' does not run before it",
            )
