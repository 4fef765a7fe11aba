from __future__ import annotations

from pydantic import field_validator

from functions.core.expressions import conditions
from functions.core.expressions.templates import Selector
from functions.nodes.entities import NodeConfig


class IfElseConfig(NodeConfig):
    """v1 `condition`: one expression; the edge labelled "true" or "false" is taken."""

    expression: str

    @field_validator("expression")
    @classmethod
    def _parses(cls, value: str) -> str:
        conditions.parse(value)  # raises ExpressionError (a ValueError) with the position
        return value

    def references(self) -> list[Selector]:
        return conditions.referenced(conditions.parse(self.expression))

    def handles(self) -> set[str] | None:
        return {"true", "false"}
