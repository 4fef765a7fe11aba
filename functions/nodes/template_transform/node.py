from __future__ import annotations

from functions.core.errors import NodeError
from functions.core.expressions.jinja import TemplateError, render_jinja
from functions.nodes.dify_entities import resolve_variables
from functions.nodes.entities import NodeContext, NodeResult
from functions.nodes.template_transform.entities import TemplateTransformConfig


def run(config: TemplateTransformConfig, ctx: NodeContext) -> NodeResult:
    values = resolve_variables(config.variables, ctx)
    try:
        output = render_jinja(config.template, values)
    except TemplateError as exc:
        raise NodeError(str(exc), "TemplateTransformError") from exc
    return NodeResult(outputs={"output": output}, inputs=values)
