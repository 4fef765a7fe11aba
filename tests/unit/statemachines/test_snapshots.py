"""Compiled ASL of three small v1 workflows, pinned as pretty JSON under tests/snapshots/.

A change in the compiled shape shows up as a diff of these files in review. After an
intended change, regenerate them with:

    UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/unit/statemachines/test_snapshots.py
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from functions.core.model.v1_format import V1Edge, V1Node, to_graph
from functions.core.services.definitions import build_definition
from tests.unit.statemachines.asl import check_run, check_structure, parse_with_moto

SNAPSHOTS = Path(__file__).resolve().parents[2] / "snapshots"

DOCUMENTS: dict[str, dict[str, Any]] = {
    # The spec's example: fetch -> analyze -> notify.
    "chain_of_3": {
        "nodes": [
            {"id": "fetch", "type": "tool-call", "config": {"tool": "echo"}},
            {
                "id": "analyze",
                "type": "ai-generate",
                "config": {"prompt": "分析设备数据:{{fetch.result}}"},
            },
            {
                "id": "notify",
                "type": "email-send",
                "config": {
                    "to": "ops@example.com",
                    "subject": "巡检报告",
                    "body": "{{analyze.result}}",
                },
            },
        ],
        "edges": [{"from": "fetch", "to": "analyze"}, {"from": "analyze", "to": "notify"}],
    },
    "if_else_with_merge": {
        "nodes": [
            {
                "id": "check",
                "type": "condition",
                "config": {"expression": "{{trigger.data.building}} == 'A栋'"},
            },
            {"id": "yes", "type": "ai-generate", "config": {"prompt": "A"}},
            {"id": "no", "type": "http-request", "config": {"url": "https://example.com/b"}},
            {
                "id": "merge",
                "type": "email-send",
                "config": {"to": "ops@example.com", "subject": "s", "body": "{{yes.result}}"},
            },
        ],
        "edges": [
            {"from": "check", "to": "yes", "condition": "true"},
            {"from": "check", "to": "no", "condition": "false"},
            {"from": "yes", "to": "merge"},
            {"from": "no", "to": "merge"},
        ],
    },
    "fan_out_and_join": {
        "nodes": [
            {"id": "start", "type": "tool-call", "config": {"tool": "echo"}},
            {"id": "left", "type": "ai-generate", "config": {"prompt": "{{start.result}}"}},
            {"id": "right", "type": "http-request", "config": {"url": "https://example.com"}},
            {
                "id": "join",
                "type": "ai-generate",
                "config": {"prompt": "{{left.result}} {{right.body}}"},
            },
        ],
        "edges": [
            {"from": "start", "to": "left"},
            {"from": "start", "to": "right"},
            {"from": "left", "to": "join"},
            {"from": "right", "to": "join"},
        ],
    },
}

HANDLES = {"chain_of_3": [{}], "if_else_with_merge": [{"check": "true"}, {"check": "false"}]}


def compiled(name: str) -> tuple[dict[str, Any], Any, str]:
    document = DOCUMENTS[name]
    graph, entry, _ = to_graph(
        [V1Node.model_validate(n) for n in document["nodes"]],
        [V1Edge.model_validate(e) for e in document["edges"]],
    )
    assert entry is not None
    return build_definition(graph, entry), graph, entry


def pretty(definition: dict[str, Any]) -> str:
    return json.dumps(definition, ensure_ascii=False, indent=2) + "\n"


@pytest.mark.usefixtures("deploy_env")
@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_compiled_asl_matches_snapshot(name: str) -> None:
    definition, graph, entry = compiled(name)
    check_structure(definition)
    parse_with_moto(definition)
    for handles in HANDLES.get(name, [{}]):
        check_run(graph, entry, definition, handles)
    path = SNAPSHOTS / f"{name}.json"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(pretty(definition), encoding="utf-8")
    assert path.exists(), f"no snapshot {path}; run with UPDATE_SNAPSHOTS=1 to create it"
    stored = path.read_text(encoding="utf-8")
    if json.loads(stored) != definition:
        diff = "".join(
            difflib.unified_diff(
                pretty(json.loads(stored)).splitlines(keepends=True),
                pretty(definition).splitlines(keepends=True),
                fromfile=f"snapshots/{path.name}",
                tofile="compiled",
            )
        )
        pytest.fail(
            f"compiled ASL of {name} differs from its snapshot; if intended, regenerate "
            f"with UPDATE_SNAPSHOTS=1\n{diff}"
        )
