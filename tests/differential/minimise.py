"""A smaller workflow that still shows a difference: for the report of a failing case.

Greedy: drop one end output, or one node nothing else reads (its predecessors then lead
to its successors, through the same handles), and keep the change when both engines
still disagree with Dify's status unchanged; until no change is kept or the attempts run
out.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import yaml

# Each attempt runs the case on both engines.
MAX_ATTEMPTS = 40
_KEPT = frozenset({"start", "end", "iteration-start", "loop-start"})

Still = Callable[[str], bool]


def minimise(document: str, still_differs: Still) -> str:
    current = yaml.safe_load(document)
    attempts = 0
    changed = True
    while changed and attempts < MAX_ATTEMPTS:
        changed = False
        for candidate in _smaller(current):
            attempts += 1
            if still_differs(_dump(candidate)):
                current, changed = candidate, True
                break
            if attempts >= MAX_ATTEMPTS:
                break
    return _dump(current)


def _dump(document: dict[str, Any]) -> str:
    text: str = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    return text


def _smaller(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    graph = document["workflow"]["graph"]
    for index, node in enumerate(graph["nodes"]):
        outputs = node["data"].get("outputs")
        if node["data"]["type"] == "end" and len(outputs) > 1:
            for drop in range(len(outputs)):
                smaller = copy.deepcopy(document)
                del smaller["workflow"]["graph"]["nodes"][index]["data"]["outputs"][drop]
                yield smaller
    for node in graph["nodes"]:
        if node["data"]["type"] not in _KEPT and not _read_elsewhere(graph, node["id"]):
            yield _without(document, node["id"])


def _read_elsewhere(graph: dict[str, Any], node_id: str) -> bool:
    """Whether another node names `node_id` (a selector, a container's child or start)."""
    quoted = json.dumps(node_id)
    for node in graph["nodes"]:
        if node["id"] != node_id and (
            quoted in json.dumps(node["data"]) or node.get("parentId") == node_id
        ):
            return True
    return False


def _without(document: dict[str, Any], node_id: str) -> dict[str, Any]:
    smaller = copy.deepcopy(document)
    graph = smaller["workflow"]["graph"]
    incoming = [e for e in graph["edges"] if e["target"] == node_id]
    outgoing = [e for e in graph["edges"] if e["source"] == node_id]
    edges = [e for e in graph["edges"] if node_id not in (e["source"], e["target"])]
    for before in incoming:
        for after in outgoing:
            bridge = {**before, "target": after["target"]}
            bridge["id"] = f"{before['source']}-{before['sourceHandle']}-{after['target']}"
            if all(e["id"] != bridge["id"] for e in edges):
                edges.append(bridge)
    graph["edges"] = edges
    graph["nodes"] = [n for n in graph["nodes"] if n["id"] != node_id]
    return smaller
