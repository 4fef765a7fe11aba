from __future__ import annotations

from typing import Any

from functions.core.errors import NodeError
from functions.nodes.entities import NodeContext, NodeResult
from functions.nodes.tool import lambda_tools
from functions.nodes.tool.builtin import BUILTIN_TOOLS
from functions.nodes.tool.entities import ToolConfig


def run(config: ToolConfig, ctx: NodeContext) -> NodeResult:
    args: dict[str, Any] = ctx.resolve(config.input)
    if lambda_tools.is_lambda_arn(config.tool):
        output = lambda_tools.invoke(config.tool, args)
    elif config.tool in BUILTIN_TOOLS:
        output = BUILTIN_TOOLS[config.tool](args, ctx)
    else:
        raise NodeError(
            f"unknown tool '{config.tool}'; built-in tools are: {', '.join(BUILTIN_TOOLS)} "
            f"(or the ARN of a Lambda function named '{lambda_tools.TOOL_FUNCTION_PREFIX}*')",
            "UnknownTool",
        )
    return NodeResult(outputs={"result": output}, inputs={"tool": config.tool, "input": args})
