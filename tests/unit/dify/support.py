"""Helpers for the Dify tests: a node context over a pool of node outputs, and small
Dify documents built in code."""

from __future__ import annotations

from typing import Any

import yaml

from functions.core.model.workflow import state_key
from functions.core.variables import VariablePool
from functions.nodes.entities import NodeContext


def context(
    outputs: dict[str, dict[str, Any]] | None = None,
    *,
    inputs: Any = None,
    system: dict[str, Any] | None = None,
    environment: dict[str, Any] | None = None,
) -> NodeContext:
    """A context whose pool holds `outputs` by node id and `inputs` as the trigger data."""
    states = {
        state_key(node_id): {"outputs": values} for node_id, values in (outputs or {}).items()
    }
    return NodeContext(
        node_id="node",
        node_type="test",
        run_id="run-1",
        workflow_id="wf-1",
        tenant_id="tenant-a",
        pool=VariablePool(
            node_states=states,
            trigger={"type": "api", "data": inputs},
            system=system,
            environment=lambda: environment or {},
        ),
    )


def dify_node(node_id: str, kind: str, title: str = "", **data: Any) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "custom",
        "position": {"x": 0, "y": 0},
        "data": {"type": kind, "title": title or node_id, "desc": "", "selected": False, **data},
    }


def dify_edge(source: str, target: str, handle: str = "source") -> dict[str, Any]:
    return {
        "id": f"{source}-{handle}-{target}",
        "source": source,
        "target": target,
        "sourceHandle": handle,
        "targetHandle": "target",
        "type": "custom",
    }


START = dify_node(
    "1711",
    "start",
    "Start",
    variables=[{"variable": "query", "label": "query", "type": "text-input", "required": True}],
)
END = dify_node(
    "1712", "end", "End", outputs=[{"variable": "answer", "value_selector": ["1711", "query"]}]
)


def dsl(
    nodes: list[dict[str, Any]] | None = None,
    edges: list[dict[str, Any]] | None = None,
    *,
    version: Any = "0.3.1",
    mode: str = "workflow",
    environment: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> str:
    """A Dify DSL export as YAML text (start -> end unless nodes/edges are given)."""
    document = {
        "version": version,
        "kind": "app",
        "app": {"name": "demo", "description": "a demo", "mode": mode, "icon": "🤖"},
        "workflow": {
            "graph": {
                "nodes": [START, END] if nodes is None else nodes,
                "edges": [dify_edge("1711", "1712")] if edges is None else edges,
            },
            "features": {},
            "environment_variables": environment or [],
            "conversation_variables": [],
        },
        **extra,
    }
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
