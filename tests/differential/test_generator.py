"""The differential test's own parts: the generator makes valid, reproducible workflows,
and the minimiser keeps what a difference needs."""

from __future__ import annotations

import json
from typing import Any

import yaml

from tests.differential.generator import generate
from tests.differential.minimise import minimise


def _nodes(text: str) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in yaml.safe_load(text)["workflow"]["graph"]["nodes"]}


def _selectors(value: Any) -> list[list[str]]:
    if isinstance(value, dict):
        found = [value["value_selector"]] if "value_selector" in value else []
        for key in ("variable_selector", "iterator_selector", "output_selector", "variable"):
            if isinstance(value.get(key), list) and value[key]:
                found.append(value[key])
        return found + [s for v in value.values() for s in _selectors(v)]
    if isinstance(value, list):
        return [s for v in value for s in _selectors(v)]
    return []


def test_a_seed_gives_the_same_workflow_and_inputs() -> None:
    first, again = generate(7), generate(7)
    assert (first.yaml(), first.inputs) == (again.yaml(), again.inputs)
    assert first.yaml() != generate(8).yaml()


def test_every_reference_names_a_node_and_every_edge_joins_two() -> None:
    kinds: set[str] = set()
    for seed in range(40):
        document = yaml.safe_load(generate(seed).yaml())
        nodes = {n["id"]: n for n in document["workflow"]["graph"]["nodes"]}
        kinds |= {n["data"]["type"] for n in nodes.values()}
        for node in nodes.values():
            for selector in _selectors(node["data"]):
                assert selector[0] in nodes, (seed, node["id"], selector)
        for edge in document["workflow"]["graph"]["edges"]:
            assert {edge["source"], edge["target"]} <= nodes.keys(), (seed, edge)
    assert kinds >= {
        "start", "end", "template-transform", "code", "if-else", "variable-aggregator",
        "list-operator", "iteration", "iteration-start", "loop", "loop-start", "assigner",
    }  # fmt: skip


def test_the_minimiser_keeps_only_what_the_difference_needs() -> None:
    document = generate(3).yaml()
    nodes = _nodes(document)
    culprit = next(i for i, n in nodes.items() if n["data"]["type"] == "template-transform")

    smaller = minimise(document, lambda text: culprit in _nodes(text))

    kept = _nodes(smaller)
    assert culprit in kept and len(kept) < len(nodes)
    # What remains still reads only what exists.
    assert all(s[0] in kept for n in kept.values() for s in _selectors(n["data"])), json.dumps(
        list(kept)
    )
