from __future__ import annotations

from functions.core.errors import NodeError
from functions.core.expressions import conditions, dify_conditions
from functions.nodes.entities import NodeContext, NodeResult
from functions.nodes.if_else.entities import ELSE_HANDLE, IfElseConfig


def run(config: IfElseConfig, ctx: NodeContext) -> NodeResult:
    if config.expression is None:
        return _run_cases(config, ctx)
    expression = conditions.parse(config.expression)
    values = {".".join(sel): ctx.pool.lookup(sel) for sel in conditions.referenced(expression)}
    outcome = conditions.evaluate(expression, ctx.pool.lookup)
    return NodeResult(
        outputs={"result": outcome},
        inputs={"expression": config.expression, "values": values},
        handle="true" if outcome else "false",
    )


def _run_cases(config: IfElseConfig, ctx: NodeContext) -> NodeResult:
    """Dify's semantics: the first case whose conditions hold is taken, else ELSE."""
    chosen = ELSE_HANDLE
    for case in config.dify_cases():
        try:
            holds = dify_conditions.evaluate_all(
                (c.model_dump() for c in case.conditions), case.logical_operator, ctx.pool.lookup
            )
        except dify_conditions.ConditionError as exc:
            raise NodeError(f"case '{case.case_id}': {exc}", "ConditionError") from exc
        if holds:
            chosen = case.case_id
            break
    values = {
        ".".join(sel): ctx.pool.lookup(sel)
        for case in config.dify_cases()
        for sel in dify_conditions.references_of(c.model_dump() for c in case.conditions)
    }
    return NodeResult(
        outputs={"result": chosen != ELSE_HANDLE, "selected_case_id": chosen},
        inputs={"values": values},
        handle=chosen,
    )
