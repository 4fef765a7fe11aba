from __future__ import annotations

from functions.nodes.dify_entities import resolve_variables
from functions.nodes.end.entities import EndConfig
from functions.nodes.entities import NodeContext, NodeResult


def run(config: EndConfig, ctx: NodeContext) -> NodeResult:
    outputs = resolve_variables(config.outputs, ctx)
    return NodeResult(outputs=outputs, inputs=outputs)
