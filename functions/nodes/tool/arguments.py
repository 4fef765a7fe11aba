"""A tool's arguments, resolved from the node's config against the pool."""

from __future__ import annotations

from typing import Any

from functions.nodes.entities import NodeContext, as_selector
from functions.nodes.tool.entities import ToolConfig, _form


def arguments(config: ToolConfig, ctx: NodeContext) -> dict[str, Any]:
    if not config.is_dify:
        resolved: dict[str, Any] = ctx.resolve(config.input)
        return resolved
    # Configurations are the tool's constant settings; parameters, set per node, win.
    merged = {**config.tool_configurations, **config.tool_parameters}
    return {name: _dify_value(parameter, ctx) for name, parameter in merged.items()}


def _dify_value(parameter: Any, ctx: NodeContext) -> Any:
    match _form(parameter):
        case "variable":
            selector = as_selector(parameter["value"])
            return ctx.pool.lookup(selector) if selector else None
        case "mixed":
            value = parameter["value"]
            return ctx.render(value, dify=True) if isinstance(value, str) else value
        case "constant":
            return parameter["value"]
    # A plain value (older DSLs): templates rendered, a lone reference keeps its type.
    return ctx.resolve(parameter, dify=True)
