"""The workflows the viewer tests run: one with canvas positions and a slow node (to watch
it run), one without positions whose HTTP node fails (its error shown on click)."""

from __future__ import annotations

from typing import Any

import yaml

from tests.service import dsl

SLOW_SECONDS = 2.5
# Canvas positions where a layered layout would put the nodes elsewhere: `end` sits under
# `slow`, not to its right.
POSITIONS = {"start": (0, 80), "slow": (320, 80), "end": (320, 320)}


def slow_canvas() -> dict[str, Any]:
    """A Dify graph (as the canvas saves it): start -> slow (a code node that sleeps) -> end."""
    code = {
        "type": "code",
        "title": "Slow step",
        "code_language": "python3",
        "code": f"import time\n\ndef main():\n    time.sleep({SLOW_SECONDS})\n"
        "    return {'result': 'done'}\n",
        "variables": [],
        "outputs": {"result": {"type": "string", "children": None}},
    }
    nodes = [("start", dsl.start()), ("slow", code), ("end", dsl.end(result=["slow", "result"]))]
    return {
        "nodes": [
            {
                "id": node_id,
                "type": "custom",
                "data": data,
                "position": {"x": POSITIONS[node_id][0], "y": POSITIONS[node_id][1]},
                "width": 244,
                "height": 54,
            }
            for node_id, data in nodes
        ],
        "edges": [
            {"id": f"{s}-{t}", "source": s, "target": t, "sourceHandle": "source"}
            for s, t in (("start", "slow"), ("slow", "end"))
        ],
    }


def failing_v1() -> dict[str, Any]:
    """A v1 workflow (no positions): fetch -> check -> call (true) | log (false). `call`
    asks a loopback address, which the HTTP node's guard refuses: it fails; `log` is the
    branch not taken."""
    return {
        "name": "Failing call",
        "trigger": {"type": "manual"},
        "nodes": [
            {"id": "fetch", "type": "tool-call", "config": {"tool": "echo", "input": {"n": 12}}},
            {
                "id": "check",
                "type": "condition",
                "config": {"expression": "{{fetch.result.n}} > 10"},
            },
            {"id": "call", "type": "http-request", "config": {"url": "http://127.0.0.1:9/"}},
            {"id": "log", "type": "tool-call", "config": {"tool": "current_time", "input": {}}},
        ],
        "edges": [
            {"from": "fetch", "to": "check"},
            {"from": "check", "to": "call", "condition": "true"},
            {"from": "check", "to": "log", "condition": "false"},
        ],
    }


def dify_document(name: str, graph: dict[str, Any]) -> str:
    """`graph` as a Dify DSL export, for POST /v1/workflows/import."""
    text: str = yaml.safe_dump(
        {
            "app": {"name": name, "mode": "workflow", "description": f"{name} (viewer test)"},
            "kind": "app",
            "version": "0.3.1",
            "workflow": {
                "environment_variables": [],
                "conversation_variables": [],
                "features": {},
                "graph": graph,
            },
        }
    )
    return text
