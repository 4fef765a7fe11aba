"""Config pieces Dify's node types share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.core.expressions.templates import Selector
from functions.nodes.entities import NodeContext, as_selector

# The value types Dify declares for code outputs and loop variables.
ValueType = Literal[
    "string",
    "number",
    "boolean",
    "object",
    "array[string]",
    "array[number]",
    "array[boolean]",
    "array[object]",
]


class VariableSelector(BaseModel):
    """Dify's `{variable, value_selector}`: a name bound to a variable of the pool.

    `value_type` is optional: Dify ≥ 1.x exports end nodes without it.
    """

    model_config = ConfigDict(extra="ignore")

    variable: str
    value_selector: list[str] = Field(default_factory=list)
    value_type: str | None = None

    @property
    def selector(self) -> Selector | None:
        return as_selector(self.value_selector)


def resolve_variables(bindings: Iterable[VariableSelector], ctx: NodeContext) -> dict[str, Any]:
    """Each binding's value; a selector that is unset or names nothing gives None."""
    return {
        binding.variable: ctx.pool.lookup(binding.selector) if binding.selector else None
        for binding in bindings
    }


def selectors_of(bindings: Iterable[VariableSelector]) -> list[Selector]:
    return [binding.selector for binding in bindings if binding.selector]
