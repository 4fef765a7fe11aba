"""Validation of a workflow graph: every problem at once, each naming its node or edge."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable

from functions.core.errors import InvalidWorkflow, Problem
from functions.core.expressions import conditions
from functions.core.expressions.templates import RESERVED_ROOTS, Selector, single_reference
from functions.core.model.graph import (
    MAX_BODY_DEPTH,
    Adjacency,
    ancestors,
    body_depths,
    nodes_on_cycles,
    reachable_from,
)
from functions.core.model.workflow import (
    BODY_START_TYPES,
    BRANCHING_TYPES,
    CONTAINER_TYPES,
    FAIL_BRANCH_HANDLE,
    LOOP_ROOT,
    LOOP_VARIABLES,
    ErrorStrategy,
    Graph,
    Node,
    NodeType,
)

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
    known: list[Problem] | None = None,
) -> None:
    """Raise InvalidWorkflow listing every problem; return quietly when the graph is sound.

    `handles(node)` gives the outgoing handles a branching node may use (None: any).
    """
    problems = list(_limits(graph, max_nodes, max_edges))
    if problems:
        problems = [*(known or []), *problems]
        # Over the limits, the other checks would only cost time on a refused document.
        raise InvalidWorkflow(problems)
    problems += known or []
    problems += _ids(graph)
    problems += _duplicates(graph)
    ids = {n.id for n in graph.nodes}
    problems += _edges(graph, ids, handles)
    problems += _containers(graph)
    problems += _body_nesting(graph)
    adj = Adjacency(graph)
    cyclic = nodes_on_cycles(adj)
    if cyclic:
        problems.append(Problem(f"nodes {', '.join(cyclic)}", "form a cycle"))
    if not graph.nodes:
        problems.append(Problem("nodes", "a workflow needs at least one node"))
    elif entry is None:
        problems.append(Problem("nodes", "no start node"))
    else:
        problems += _reachability(adj, entry, [n.id for n in graph.nodes if n.parent is None])
        for start in graph.nodes:
            if start.type in BODY_START_TYPES and start.parent is not None:
                scope = [n.id for n in graph.nodes if n.parent == start.parent]
                problems += _reachability(adj, start.id, scope)
    parents = {n.id: n.parent for n in graph.nodes}
    for node in graph.nodes:
        config_problems, selectors = check_config(node)
        problems += [Problem(f"node '{node.id}'", p) for p in config_problems]
        step_problems, selectors, step_selectors = _step_fields(node, selectors, ids)
        problems += step_problems
        if not cyclic:
            problems += _references(adj, node, selectors, ids, parents)
            for field, found in step_selectors:
                problems += _references(adj, node, found, ids, parents, field=field)
    if problems:
        raise InvalidWorkflow(problems)


def _limits(graph: Graph, max_nodes: int, max_edges: int) -> Iterable[Problem]:
    if len(graph.nodes) > max_nodes:
        yield Problem("nodes", f"{len(graph.nodes)} nodes exceed the limit of {max_nodes}")
    if len(graph.edges) > max_edges:
        yield Problem("edges", f"{len(graph.edges)} edges exceed the limit of {max_edges}")


_NODE_ID = re.compile(r"[\w-]{1,128}")


def _ids(graph: Graph) -> Iterable[Problem]:
    for node in graph.nodes:
        if not _NODE_ID.fullmatch(node.id):
            yield Problem(
                f"node '{node.id}'",
                "id must be 1-128 letters, digits, '_' or '-' (no spaces or punctuation)",
            )


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
        elif edge.source_handle == FAIL_BRANCH_HANDLE:
            if source.error_strategy is not ErrorStrategy.FAIL_BRANCH:
                yield Problem(where, f"leaves '{source.id}' by its fail branch, which it has not")
        elif edge.source_handle is not None:
            yield Problem(
                where,
                f"has condition '{edge.source_handle}' but '{source.id}' is not a condition node",
            )


def _containers(graph: Graph) -> Iterable[Problem]:
    by_id = {n.id: n for n in graph.nodes}
    for node in graph.nodes:
        if node.parent is None:
            continue
        parent = by_id.get(node.parent)
        if parent is None or parent.type not in CONTAINER_TYPES:
            yield Problem(
                f"node '{node.id}'", f"its parent '{node.parent}' is not an iteration or loop"
            )
    for container in graph.nodes:
        if container.type in CONTAINER_TYPES:
            starts = [
                n.id for n in graph.nodes if n.parent == container.id and n.type in BODY_START_TYPES
            ]
            if len(starts) != 1:
                yield Problem(
                    f"node '{container.id}'",
                    f"its body needs exactly one start node, not {len(starts)}",
                )
    for edge in graph.edges:
        source, target = by_id.get(edge.source), by_id.get(edge.target)
        if source and target and source.parent != target.parent:
            yield Problem(f"edge {edge.key}", "crosses the boundary of an iteration or loop body")


def _body_nesting(graph: Graph) -> Iterable[Problem]:
    depths, on_loop = body_depths({n.id: n.parent for n in graph.nodes})
    if on_loop:
        yield Problem(
            f"nodes {', '.join(on_loop)}", "contain each other (their parents form a cycle)"
        )
    for node in graph.nodes:
        # Report only the outermost container whose body is too deep.
        if node.type in CONTAINER_TYPES and depths.get(node.id) == MAX_BODY_DEPTH:
            yield Problem(
                f"node '{node.id}'",
                f"its body would be nested {MAX_BODY_DEPTH + 1} iteration/loop bodies deep; "
                f"at most {MAX_BODY_DEPTH} may nest",
            )


def _reachability(adj: Adjacency, entry: str, scope: list[str]) -> Iterable[Problem]:
    if adj.incoming[entry]:
        yield Problem(f"node '{entry}'", "the first node must not have incoming edges")
    reached = reachable_from(adj, [entry])
    for node_id in scope:
        if node_id not in reached:
            yield Problem(f"node '{node_id}'", f"is unreachable from '{entry}'")


def _upstream(adj: Adjacency, node_id: str, parents: dict[str, str | None]) -> set[str]:
    """Nodes whose outputs exist when `node_id` runs: its ancestors, and inside a body
    also the container itself (item, index, loop variables) and the container's upstream."""
    found = ancestors(adj, node_id)
    parent, seen = parents.get(node_id), {node_id}
    while parent is not None and parent not in seen:  # a loop of parents ends the walk
        seen.add(parent)
        found |= {parent} | ancestors(adj, parent)
        parent = parents.get(parent)
    return found


def _references(
    adj: Adjacency,
    node: Node,
    selectors: list[Selector],
    ids: set[str],
    parents: dict[str, str | None],
    *,
    field: str = "",
) -> Iterable[Problem]:
    where, prefix = f"node '{node.id}'", f"{field}: " if field else ""
    upstream: set[str] | None = None
    for selector in selectors:
        root = selector[0]
        if root in RESERVED_ROOTS:
            continue
        if root not in ids:
            yield Problem(where, f"{prefix}references unknown node '{root}'")
            continue
        upstream = upstream if upstream is not None else _upstream(adj, node.id, parents)
        if root not in upstream:
            yield Problem(
                where,
                f"{prefix}references '{'.'.join(selector)}' but '{root}' does not run before it",
            )


# Nodes that cannot have a `conditional`: a start always runs (it is where a run begins).
_UNCONDITIONAL_TYPES = frozenset({NodeType.START, *BODY_START_TYPES})
# Nodes that cannot have a `loop`: besides starts, those whose outcome is not a `result`
# (ends, answers, assigners, whose outputs the run or a loop container reads as they are),
# branching nodes (one handle per element cannot choose edges) and containers.
_UNLOOPABLE_TYPES = frozenset(
    {
        *_UNCONDITIONAL_TYPES,
        NodeType.END,
        NodeType.ANSWER,
        NodeType.ASSIGNER,
        *BRANCHING_TYPES,
        *CONTAINER_TYPES,
    }
)


def _step_fields(
    node: Node, selectors: list[Selector], ids: set[str]
) -> tuple[list[Problem], list[Selector], list[tuple[str, list[Selector]]]]:
    """Problems of the node's `conditional` and `loop`, the config's selectors left to
    check as node references, and the selectors of each step field."""
    where = f"node '{node.id}'"
    problems: list[Problem] = []
    fields: list[tuple[str, list[Selector]]] = []
    if node.condition is not None:
        if node.type in _UNCONDITIONAL_TYPES:
            problems.append(
                Problem(where, f"conditional: a node of type '{node.type}' always runs")
            )
        try:
            found = conditions.referenced(conditions.parse(node.condition))
        except conditions.ExpressionError as exc:
            problems.append(Problem(where, f"conditional: {exc}"))
        else:
            found, misplaced = _split_loop_references(found, ids)
            problems += [
                Problem(
                    where,
                    f"conditional: references '{'.'.join(s)}', but the condition is checked"
                    " once, before any loop",
                )
                for s in misplaced
            ]
            fields.append(("conditional", found))
    if node.loop is None:
        selectors, misplaced = _split_loop_references(selectors, ids)
        problems += [
            Problem(where, f"references '{'.'.join(s)}', which only a node with a loop has")
            for s in misplaced
        ]
        return problems, selectors, fields
    if node.type in _UNLOOPABLE_TYPES:
        problems.append(Problem(where, f"loop: a node of type '{node.type}' cannot loop"))
    over = single_reference(node.loop)
    if over is None:
        problems.append(
            Problem(where, "loop: must be one reference to a list, such as {{fetch.result.items}}")
        )
    else:
        fields.append(("loop", [over]))
    # In a looping node, `loop.*` is the element it runs for, never a node named `loop`.
    own = [s for s in selectors if s[0] == LOOP_ROOT]
    for selector in own:
        if len(selector) < 2 or selector[1] not in LOOP_VARIABLES:
            problems.append(
                Problem(
                    where,
                    f"references '{'.'.join(selector)}'; a loop has "
                    + " and ".join(f"{{{{{LOOP_ROOT}.{v}}}}}" for v in LOOP_VARIABLES),
                )
            )
    if own and LOOP_ROOT in ids:
        problems.append(
            Problem(
                where,
                f"its '{LOOP_ROOT}.…' references name the element it loops over, so node "
                f"'{LOOP_ROOT}' cannot be referenced from it; rename that node",
            )
        )
    return problems, [s for s in selectors if s[0] != LOOP_ROOT], fields


def _split_loop_references(
    selectors: list[Selector], ids: set[str]
) -> tuple[list[Selector], list[Selector]]:
    """Outside a loop, `loop.*` is a node reference only when a node is named `loop`."""
    if LOOP_ROOT in ids:
        return selectors, []
    return (
        [s for s in selectors if s[0] != LOOP_ROOT],
        [s for s in selectors if s[0] == LOOP_ROOT],
    )
