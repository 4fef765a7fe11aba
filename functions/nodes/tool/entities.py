from __future__ import annotations

from typing import Any

from pydantic import Field

from functions.nodes.entities import NodeConfig


class ToolConfig(NodeConfig):
    """v1 `tool-call`: a built-in tool name, or the ARN of a Lambda function registered as a
    tool, and its input (templated)."""

    tool: str = Field(min_length=1)
    input: dict[str, Any] = Field(default_factory=dict)
