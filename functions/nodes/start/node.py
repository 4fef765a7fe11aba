"""The start node: the run's inputs (the trigger's data) checked against the form.

Outputs are the declared inputs plus every system variable as `sys.<name>`, as Dify's
start node gives them.
"""

from __future__ import annotations

from typing import Any

from functions.nodes.entities import NodeContext, NodeResult
from functions.nodes.start.entities import StartConfig
from functions.nodes.start.inputs import InvalidInput, prepare_inputs


def run(config: StartConfig, ctx: NodeContext) -> NodeResult:
    raw = ctx.pool.lookup(("trigger", "data"))
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidInput(f"the run's inputs must be an object, not {type(raw).__name__}")
    inputs = prepare_inputs(config.variables, raw)
    system: Any = ctx.pool.lookup(("sys",)) or {}
    outputs = {**inputs, **{f"sys.{name}": value for name, value in system.items()}}
    return NodeResult(outputs=outputs, inputs=outputs)
