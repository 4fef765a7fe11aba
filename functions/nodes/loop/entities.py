from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.core.expressions.templates import Selector
from functions.nodes.dify_entities import ValueType
from functions.nodes.entities import NodeConfig

# Dify's LOOP_NODE_MAX_COUNT; each round is a few states in the execution history.
MAX_LOOP_COUNT = 100


class LoopVariable(BaseModel):
    model_config = ConfigDict(extra="ignore")

    label: str = Field(min_length=1)
    var_type: ValueType
    value_type: Literal["constant", "variable"] = "constant"
    # A constant (arrays, objects and numbers may be JSON text), or a selector.
    value: Any = None


class LoopConfig(NodeConfig):
    """Dify's loop: run the body until the break conditions hold or `loop_count` rounds
    have run. Loop variables live in the loop's own outputs (`[loop id, label]`); assigner
    nodes in the body update them."""

    loop_count: int = Field(ge=1, le=MAX_LOOP_COUNT)
    # Dify condition dicts: {variable_selector, comparison_operator, value}.
    break_conditions: list[dict[str, Any]] = Field(default_factory=list)
    logical_operator: Literal["and", "or"] = "and"
    loop_variables: list[LoopVariable] = Field(default_factory=list)

    @property
    def is_dify(self) -> bool:
        return True

    def references(self) -> list[Selector]:
        # Break conditions read the loop's own variables and its body's outputs, which do
        # not run before the loop; only initial values taken from variables are upstream.
        return [
            tuple(v.value)
            for v in self.loop_variables
            if v.value_type == "variable" and isinstance(v.value, list) and v.value
        ]
