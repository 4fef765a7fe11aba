from __future__ import annotations

from typing import Any, Self

from pydantic import Field, model_validator

from functions.core.expressions.templates import Selector
from functions.nodes.entities import NodeConfig, as_selector
from functions.nodes.tool import lambda_tools
from functions.nodes.tool.builtin import BUILTIN_TOOLS

# Dify's tool parameter forms: {"type": ..., "value": ...}.
PARAMETER_TYPES = frozenset({"mixed", "variable", "constant"})


class ToolConfig(NodeConfig):
    """A tool call in one of two shapes:

    - v1 `tool-call`: `tool` (a built-in tool name, or the ARN of a Lambda function
      registered as a tool) and its `input` (templated);
    - Dify: `tool_name` (looked up among the built-in tools; `provider_id` and
      `provider_type` are kept but not needed) with `tool_parameters` {name: {type:
      mixed|variable|constant, value}} (or a plain value) and constant
      `tool_configurations`. A tool that is not built in fails when the node runs.

    A v1 `tool` that names neither a built-in tool nor an allowed Lambda function is
    refused at save (`save_problems`); Dify's provider tools are left to the run, as
    their providers are.
    """

    tool: str | None = Field(default=None, min_length=1)
    input: dict[str, Any] = Field(default_factory=dict)

    tool_name: str | None = Field(default=None, min_length=1)
    provider_id: str = ""
    provider_type: str = ""
    tool_parameters: dict[str, Any] = Field(default_factory=dict)
    tool_configurations: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        if (self.tool is None) == (self.tool_name is None):
            raise ValueError("needs exactly one of `tool` (v1) or `tool_name` (Dify)")
        return self

    def save_problems(self) -> list[tuple[str, str]]:
        if self.tool is None:
            return []  # Dify's form: `tool_name` and its provider
        if lambda_tools.is_lambda_arn(self.tool):
            refused = lambda_tools.refusal(self.tool)
            return [] if refused is None else [("tool", refused)]
        return [] if self.tool in BUILTIN_TOOLS else [("tool", self.unknown_tool())]

    def unknown_tool(self) -> str:
        """What is said of a tool that is neither built in nor (v1) a Lambda ARN."""
        provider = f" of provider '{self.provider_id}'" if self.provider_id else ""
        lambdas = (
            ""
            if self.is_dify
            else f" (or the ARN of a Lambda function named '{lambda_tools.TOOL_FUNCTION_PREFIX}*')"
        )
        return (
            f"unknown tool '{self.tool_id}'{provider}; built-in tools are: "
            f"{', '.join(BUILTIN_TOOLS)}{lambdas}"
        )

    @property
    def tool_id(self) -> str:
        return self.tool or self.tool_name or ""

    @property
    def is_dify(self) -> bool:
        return self.tool_name is not None

    def references(self) -> list[Selector]:
        found = super().references()
        for parameter in (*self.tool_configurations.values(), *self.tool_parameters.values()):
            if _form(parameter) == "variable":
                selector = as_selector(parameter["value"])
                if selector is not None:
                    found.append(selector)
        return found


def _form(parameter: Any) -> str | None:
    """The Dify form of a parameter, or None for a plain value."""
    if isinstance(parameter, dict) and parameter.get("type") in PARAMETER_TYPES:
        return str(parameter["type"])
    return None
