"""A Dify graph (`{nodes, edges}` as the canvas saves it) -> the internal graph.

- Node `data.type` is the node type (`variable-assigner`, Dify's old name of the
  aggregator, counts as `variable-aggregator`); canvas notes (`custom-note`, or an empty
  type) are skipped with any edge that touches them.
- `data.title` is the title; the rest of `data`, minus layout and the fields below, is the
  node's config.
- `parentId` (or `data.iteration_id` / `data.loop_id`) makes a node part of that
  container's body. A body without its start marker (DSLs from before Dify had one)
  gets one, leading to the container's `start_node_id`.
- `data.error_strategy`, `data.default_value` [{key, type, value}], `data.retry_config`
  {retry_enabled|enabled, max_retries, retry_interval (ms), exponential_backoff} and a
  numeric `data.timeout` (seconds) become the node's error strategy, default outputs,
  retry policy and timeout.
- An edge's `sourceHandle` "source" is an unconditional edge; any other handle (an
  if-else case id, "true"/"false", a class id, "fail-branch") is kept.
- A `trigger-schedule` / `trigger-webhook` node is the start: a START node whose config
  the start node reads, and whose settings become the trigger (dify_triggers.py). A
  workflow has one start, a start node or a trigger node.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from functions.core.errors import Problem
from functions.core.model import dify_triggers
from functions.core.model.trigger import Trigger
from functions.core.model.workflow import (
    BODY_START_TYPES,
    CONTAINER_TYPES,
    Edge,
    ErrorStrategy,
    Graph,
    Node,
    NodeType,
    RetryPolicy,
)

# Dify's data.type names that differ from ours.
ALIASES = {"variable-assigner": NodeType.VARIABLE_AGGREGATOR}
# Keys of `data` that are layout, identity or mapped onto the node itself, not config.
NOT_CONFIG = frozenset(
    {
        "type",
        "title",
        "desc",
        "selected",
        "height",
        "width",
        "isInIteration",
        "isInLoop",
        "isIterationStart",
        "isLoopStart",
        "iteration_id",
        "loop_id",
        "error_strategy",
        "default_value",
        "retry_config",
    }
)
_START_MARKER = {NodeType.ITERATION: NodeType.ITERATION_START, NodeType.LOOP: NodeType.LOOP_START}
_SOURCE_HANDLE = "source"


@dataclass
class Converted:
    graph: Graph
    entry: str | None
    problems: list[Problem] = field(default_factory=list)
    # What starts the runs: the trigger node's, or manual.
    trigger: Trigger = field(default_factory=Trigger)


def convert(raw: dict[str, Any], supported: Collection[NodeType]) -> Converted:
    """The internal graph and its entry (the start node), with every problem found."""
    problems: list[Problem] = []
    raw_nodes = _list(raw, "nodes", problems)
    raw_edges = _list(raw, "edges", problems)
    nodes: list[Node] = []
    notes: set[str] = set()
    triggers: dict[str, Trigger] = {}
    for index, item in enumerate(raw_nodes):
        node = _node(index, item, supported, problems, notes=notes, triggers=triggers)
        if node is not None:
            nodes.append(node)
    edges = _edges(raw_edges, notes, problems)
    _add_body_starts(nodes, edges, problems)
    starts = [n.id for n in nodes if n.type is NodeType.START and n.parent is None]
    if len(starts) > 1:
        problems.append(Problem("nodes", _too_many_starts(starts, triggers)))
    elif not starts and nodes and not _claims_start(raw_nodes):
        # (A start or trigger node that was refused has its own problems listed.)
        problems.append(Problem("nodes", "no start node"))
    return Converted(
        Graph(nodes=nodes, edges=edges),
        starts[0] if starts else None,
        problems,
        trigger=triggers.get(starts[0], Trigger()) if len(starts) == 1 else Trigger(),
    )


def _claims_start(raw_nodes: list[Any]) -> bool:
    kinds = {NodeType.START.value, *dify_triggers.KINDS}
    return any(
        isinstance(item, dict)
        and isinstance(item.get("data"), dict)
        and item["data"].get("type") in kinds
        and not item.get("parentId")
        for item in raw_nodes
    )


def _too_many_starts(starts: list[str], triggers: dict[str, Trigger]) -> str:
    if not any(start in triggers for start in starts):
        return f"has {len(starts)} start nodes; a workflow has one"
    listed = ", ".join(f"'{start}'" for start in starts)
    return (
        f"has {len(starts)} start or trigger nodes ({listed}); a workflow here has one: "
        "a start node or a single trigger"
    )


def _list(raw: dict[str, Any], key: str, problems: list[Problem]) -> list[Any]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(Problem(f"graph.{key}", "must be a list"))
        return []
    return value


def _node(
    index: int,
    item: Any,
    supported: Collection[NodeType],
    problems: list[Problem],
    *,
    notes: set[str],
    triggers: dict[str, Trigger],
) -> Node | None:
    if not isinstance(item, dict) or not _is_id(item.get("id")):
        problems.append(Problem(f"graph.nodes[{index}]", "must be an object with an id"))
        return None
    node_id = str(item["id"])
    data = item.get("data")
    if not isinstance(data, dict):
        data = {}
    kind = data.get("type")
    if item.get("type") == "custom-note" or kind == "":
        notes.add(node_id)
        return None
    title = data.get("title") if isinstance(data.get("title"), str) else ""
    where = f"node '{node_id}'" + (f" ({title})" if title else "")
    if not isinstance(kind, str):
        problems.append(Problem(where, "data.type must name the node type"))
        return None
    node_type = NodeType.START if kind in dify_triggers.KINDS else _node_type(kind)
    if node_type is None or node_type not in supported:
        later = " yet" if node_type is not None else ""
        problems.append(Problem(where, f"node type '{kind}' is not supported{later}"))
        return None
    local: list[str] = []
    config = {k: v for k, v in data.items() if k not in NOT_CONFIG}
    if kind in dify_triggers.KINDS:
        start = dify_triggers.convert(kind, data, local)
        config = start.config if start is not None else {}
        if start is not None:
            triggers[node_id] = start.trigger
        # A webhook's `timeout` is how long Dify's synchronous reply waits, not the node's.
        data = {k: v for k, v in data.items() if k != "timeout"}
    policies = _policies(data, local)
    try:
        node = Node(
            id=node_id,
            type=node_type,
            title=title or node_id,
            config=config,
            parent=_parent(item, data),
            **policies,
        )
    except ValidationError as exc:
        local += [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        node = None
    problems += [Problem(where, reason) for reason in local]
    return node if not local else None


def _is_id(value: Any) -> bool:
    # YAML reads an unquoted timestamp id as a number.
    return (isinstance(value, str) and value != "") or (
        isinstance(value, int) and not isinstance(value, bool)
    )


def _node_type(kind: str) -> NodeType | None:
    if kind in ALIASES:
        return ALIASES[kind]
    try:
        return NodeType(kind)
    except ValueError:
        return None


def _parent(item: dict[str, Any], data: dict[str, Any]) -> str | None:
    for candidate in (item.get("parentId"), data.get("iteration_id"), data.get("loop_id")):
        if _is_id(candidate):
            return str(candidate)
    return None


def _policies(data: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """The node's error strategy, default outputs, retry policy and timeout."""
    policies: dict[str, Any] = {}
    strategy = data.get("error_strategy")
    if strategy not in (None, "none"):
        try:
            policies["error_strategy"] = ErrorStrategy(strategy)
        except ValueError:
            problems.append(f"error_strategy {strategy!r} must be fail-branch or default-value")
    if policies.get("error_strategy") is ErrorStrategy.DEFAULT_VALUE:
        policies["default_outputs"] = _default_outputs(data.get("default_value"), problems)
    retry = _retry(data.get("retry_config"), problems)
    if retry is not None:
        policies["retry"] = retry
    timeout = data.get("timeout")
    if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0:
        policies["timeout_seconds"] = math.ceil(timeout)
    return policies


def _default_outputs(value: Any, problems: list[str]) -> dict[str, Any]:
    outputs: dict[str, Any] = {}
    for item in value if isinstance(value, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            problems.append("default_value entries need a key, a type and a value")
            continue
        outputs[item["key"]] = _typed_default(item.get("type"), item.get("value"), problems)
    return outputs


def _typed_default(kind: Any, value: Any, problems: list[str]) -> Any:
    """Dify stores object/array defaults as JSON text and numbers sometimes as text."""
    if not isinstance(value, str) or kind in (None, "string"):
        return value
    try:
        if kind == "number":
            return float(value) if "." in value else int(value)
        if isinstance(kind, str) and (kind == "object" or kind.startswith("array")):
            return json.loads(value)
    except ValueError:
        problems.append(f"default value {value[:40]!r} is not a valid {kind}")
    return value


def _retry(config: Any, problems: list[str]) -> RetryPolicy | None:
    if not isinstance(config, dict) or not (config.get("retry_enabled") or config.get("enabled")):
        return None
    backoff = config.get("exponential_backoff")
    rate = (
        backoff.get("multiplier", 2) if isinstance(backoff, dict) and backoff.get("enabled") else 1
    )
    try:
        return RetryPolicy(
            max_retries=config.get("max_retries", 1),
            interval_seconds=float(config.get("retry_interval", 1000)) / 1000,
            backoff_rate=rate,
        )
    except (ValidationError, TypeError, ValueError) as exc:
        detail = (
            "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
            if isinstance(exc, ValidationError)
            else str(exc)
        )
        problems.append(f"retry_config: {detail}")
        return None


def _edges(raw_edges: list[Any], notes: set[str], problems: list[Problem]) -> list[Edge]:
    edges: dict[tuple[str, str, str | None], Edge] = {}
    # Where each edge id was first seen: Dify's engine refuses a graph that repeats one.
    first_with_id: dict[str, int] = {}
    for index, item in enumerate(raw_edges):
        if (
            not isinstance(item, dict)
            or not _is_id(item.get("source"))
            or not _is_id(item.get("target"))
        ):
            problems.append(Problem(f"graph.edges[{index}]", "must have a source and a target"))
            continue
        edge_id = item.get("id")
        if isinstance(edge_id, str) and edge_id:
            if edge_id in first_with_id:
                also = f"graph.edges[{first_with_id[edge_id]}]"
                reason = f"duplicate edge id '{edge_id}' (also {also})"
                problems.append(Problem(f"graph.edges[{index}]", reason))
                continue
            first_with_id[edge_id] = index
        source, target = str(item["source"]), str(item["target"])
        if source in notes or target in notes:
            continue
        handle = item.get("sourceHandle")
        source_handle = None if handle in (None, "", _SOURCE_HANDLE) else str(handle)
        # Dify's canvas can save the same connection twice; one edge is the connection.
        edges.setdefault(
            (source, target, source_handle),
            Edge(source=source, target=target, source_handle=source_handle),
        )
    return list(edges.values())


def _add_body_starts(nodes: list[Node], edges: list[Edge], problems: list[Problem]) -> None:
    """Give each container body without a start marker one, leading to `start_node_id`."""
    for container in [n for n in nodes if n.type in CONTAINER_TYPES]:
        body = {n.id for n in nodes if n.parent == container.id}
        if any(n.type in BODY_START_TYPES for n in nodes if n.id in body):
            continue
        first = container.config.get("start_node_id")
        if not isinstance(first, str) or first not in body:
            problems.append(
                Problem(
                    f"node '{container.id}' ({container.title})",
                    "its body has no start node and start_node_id names none of its nodes",
                )
            )
            continue
        marker = Node(
            id=f"{container.id}start",
            type=_START_MARKER[container.type],
            title="start",
            parent=container.id,
        )
        nodes.append(marker)
        edges.append(Edge(source=marker.id, target=first))
