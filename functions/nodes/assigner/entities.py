from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from functions.core.expressions.templates import Selector
from functions.nodes.entities import NodeConfig


class Operation(StrEnum):
    OVER_WRITE = "over-write"
    CLEAR = "clear"
    APPEND = "append"
    EXTEND = "extend"
    SET = "set"
    ADD = "+="
    SUBTRACT = "-="
    MULTIPLY = "*="
    DIVIDE = "/="
    REMOVE_FIRST = "remove-first"
    REMOVE_LAST = "remove-last"


class InputType(StrEnum):
    VARIABLE = "variable"
    CONSTANT = "constant"


class AssignItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    variable_selector: list[str] = Field(min_length=2)
    input_type: InputType = InputType.VARIABLE  # what Dify's editor starts an item with
    operation: Operation
    # A constant, or (input_type "variable") the selector of the value to use.
    value: Any = None

    @model_validator(mode="after")
    def _variable_input_is_a_selector(self) -> AssignItem:
        no_value = {Operation.CLEAR, Operation.REMOVE_FIRST, Operation.REMOVE_LAST}
        if self.input_type is InputType.VARIABLE and self.operation not in no_value:
            value = self.value
            if not (
                isinstance(value, list)
                and len(value) >= 2
                and all(isinstance(v, str) for v in value)
            ):
                raise ValueError("a variable input needs a selector of at least two segments")
        return self


class AssignerConfig(NodeConfig):
    """Dify's variable assigner, v2 (`items`) or v1 (one `assigned_variable_selector` with
    `write_mode` over-write | append | clear from `input_variable_selector`)."""

    version: str = "2"
    items: list[AssignItem] = Field(default_factory=list)
    assigned_variable_selector: list[str] | None = None
    input_variable_selector: list[str] | None = None
    write_mode: str | None = None

    @model_validator(mode="after")
    def _v1_as_items(self) -> AssignerConfig:
        if self.items or not self.assigned_variable_selector:
            return self
        modes = {
            "over-write": Operation.OVER_WRITE,
            "append": Operation.APPEND,
            "clear": Operation.CLEAR,
        }
        operation = modes.get(self.write_mode or "")
        if operation is None:
            raise ValueError(f"unsupported write mode: {self.write_mode}")
        self.items = [
            AssignItem(
                variable_selector=self.assigned_variable_selector,
                input_type=InputType.VARIABLE,
                operation=operation,
                value=None if operation is Operation.CLEAR else self.input_variable_selector,
            )
        ]
        return self

    @property
    def is_dify(self) -> bool:
        return True

    def references(self) -> list[Selector]:
        found: list[Selector] = []
        for item in self.items:
            found.append(tuple(item.variable_selector))
            if item.input_type is InputType.VARIABLE and isinstance(item.value, list):
                found.append(tuple(item.value))
        return found
