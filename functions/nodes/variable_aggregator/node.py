from __future__ import annotations

from typing import Any

from functions.nodes.entities import NodeContext, NodeResult
from functions.nodes.variable_aggregator.entities import VariableAggregatorConfig


def run(config: VariableAggregatorConfig, ctx: NodeContext) -> NodeResult:
    outputs: dict[str, Any] = {}
    inputs: dict[str, Any] = {}
    for group, selectors in config.candidates().items():
        for selector in selectors:
            value = ctx.pool.lookup(selector)
            if value is None:
                continue
            inputs[".".join(selector[1:])] = value
            if group is None:
                outputs["output"] = value
            else:
                outputs[group] = {"output": value}
            break
    return NodeResult(outputs=outputs, inputs=inputs)
