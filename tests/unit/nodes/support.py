"""Helpers shared by the node tests: a node context over a small variable pool, and the
task event the state machine sends a node function."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from functions.core.settings import get_settings
from functions.core.variables import VariablePool
from functions.nodes.entities import NodeContext

TENANT = "tenant-a"
RUN_ID = "run-1"
FETCHED = {"devices": [{"id": "d1", "temp": 31}, {"id": "d2", "temp": 12}], "site": "A"}
TRIGGER = {"data": {"building": "A栋", "to": "ops@example.com"}}


def context(node_type: str, **states: dict[str, Any]) -> NodeContext:
    """A context whose pool holds `fetch`'s outputs (plus `states`) and the trigger."""
    node_states = {"fetch": {"outputs": {"result": FETCHED}}, **states}
    return NodeContext(
        node_id="node",
        node_type=node_type,
        run_id=RUN_ID,
        workflow_id="wf-1",
        tenant_id=TENANT,
        pool=VariablePool(node_states=node_states, trigger=TRIGGER),
    )


def task_event(node_type: str, config: dict[str, Any]) -> dict[str, Any]:
    """What the compiled state machine passes a node Task (statemachines/compiler/states.py)."""
    return {
        "node": {"id": "node", "type": node_type, "title": "Node", "config": json.dumps(config)},
        "run": {"runId": RUN_ID, "workflowId": "wf-1", "tenantId": TENANT},
        "trigger": TRIGGER,
        "sys": {},
        "vars": {"fetch": {"outputs": {"result": FETCHED}}},
    }


# Powertools' inject_lambda_context reads these attributes, so `None` will not do.
LAMBDA_CONTEXT = SimpleNamespace(
    function_name="stepcanvas-node-test",
    memory_limit_in_mb=512,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:stepcanvas-node-test",
    aws_request_id="test",
)


def configure(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    """Set environment variables and make the next get_settings() read them."""
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
