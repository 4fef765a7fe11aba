from __future__ import annotations

from functions.core.expressions import conditions
from functions.nodes.entities import NodeContext, NodeResult
from functions.nodes.if_else.entities import IfElseConfig


def run(config: IfElseConfig, ctx: NodeContext) -> NodeResult:
    expression = conditions.parse(config.expression)
    values = {".".join(sel): ctx.pool.lookup(sel) for sel in conditions.referenced(expression)}
    outcome = conditions.evaluate(expression, ctx.pool.lookup)
    return NodeResult(
        outputs={"result": outcome},
        inputs={"expression": config.expression, "values": values},
        handle="true" if outcome else "false",
    )
