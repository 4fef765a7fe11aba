"""A node context over hand-built node states, and the task event of a node Task."""

from __future__ import annotations

import json
from typing import Any

from functions.core.variables import VariablePool
from functions.nodes.entities import NodeContext

RUN_ID = "run-dify"


def context(states: dict[str, Any] | None = None, **outputs: dict[str, Any]) -> NodeContext:
    """A context whose pool holds `states` as they are and each of `outputs` inline."""
    node_states = {**(states or {}), **{k: {"outputs": v} for k, v in outputs.items()}}
    return NodeContext(
        node_id="node",
        node_type="test",
        run_id=RUN_ID,
        workflow_id="wf-dify",
        tenant_id="tenant-a",
        pool=VariablePool(node_states=node_states, trigger={"q": "from the trigger"}),
    )


def task_event(
    node_id: str, node_type: str, config: dict[str, Any], variables: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    """What the compiled state machine passes a node Task (statemachines/compiler/states.py)."""
    return {
        "node": {"id": node_id, "type": node_type, "title": node_id, "config": json.dumps(config)},
        "run": {"runId": RUN_ID, "workflowId": "wf-dify", "tenantId": "tenant-a"},
        "trigger": {},
        "sys": {},
        "vars": variables,
        **extra,
    }
