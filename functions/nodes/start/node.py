"""The start node: the run's inputs (the trigger's data) checked against the form.

Outputs are the declared inputs plus every system variable as `sys.<name>`, as Dify's
start node gives them. A start imported from a Dify trigger node outputs what that node
does instead of form inputs: nothing more for a schedule, the request for a webhook.
"""

from __future__ import annotations

from typing import Any

from functions.nodes.entities import NodeContext, NodeResult
from functions.nodes.start.entities import StartConfig, TriggerSource
from functions.nodes.start.inputs import InvalidInput, prepare_inputs
from functions.nodes.start.webhook import webhook_outputs


def run(config: StartConfig, ctx: NodeContext) -> NodeResult:
    raw = ctx.pool.lookup(("trigger", "data"))
    if raw is None:
        raw = {}
    if config.source is TriggerSource.SCHEDULE:
        inputs: dict[str, Any] = {}  # Dify's schedule runs have no inputs
    elif not isinstance(raw, dict):
        raise InvalidInput(f"the run's inputs must be an object, not {type(raw).__name__}")
    elif config.source is TriggerSource.WEBHOOK:
        inputs = webhook_outputs(config, raw)
    else:
        inputs = prepare_inputs(config.variables, raw)
    system: Any = ctx.pool.lookup(("sys",)) or {}
    outputs = {**inputs, **{f"sys.{name}": value for name, value in system.items()}}
    return NodeResult(outputs=outputs, inputs=outputs)
