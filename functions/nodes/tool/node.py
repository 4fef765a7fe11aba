from __future__ import annotations

from typing import Any

from functions.core.errors import NodeError
from functions.core.expressions.templates import to_text
from functions.nodes.entities import NodeContext, NodeResult
from functions.nodes.tool import lambda_tools
from functions.nodes.tool.arguments import arguments
from functions.nodes.tool.builtin import BUILTIN_TOOLS
from functions.nodes.tool.entities import ToolConfig


def run(config: ToolConfig, ctx: NodeContext) -> NodeResult:
    args = arguments(config, ctx)
    tool = config.tool_id
    if not config.is_dify and lambda_tools.is_lambda_arn(tool):
        output = lambda_tools.invoke(tool, args)
    elif tool in BUILTIN_TOOLS:
        output = BUILTIN_TOOLS[tool](args, ctx)
    else:
        raise NodeError(config.unknown_tool(), "UnknownTool")
    return NodeResult(outputs=_outputs(config, output), inputs={"tool": tool, "input": args})


def _outputs(config: ToolConfig, output: Any) -> dict[str, Any]:
    if not config.is_dify:
        return {"result": output}
    # Dify's tool outputs (text, files, json) and `result`, the tool's value as it is.
    return {
        "text": to_text(output),
        "files": [],
        "json": [output] if isinstance(output, dict) else [],
        "result": output,
    }
