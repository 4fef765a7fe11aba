from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from functions.core.expressions import conditions, dify_conditions
from functions.core.expressions.dify_conditions import Condition
from functions.core.expressions.templates import Selector
from functions.nodes.entities import NodeConfig

# The handle taken when no case holds (Dify's ELSE branch).
ELSE_HANDLE = "false"
# The one case of Dify's legacy form (`conditions` without `cases`).
LEGACY_CASE = "true"


class Case(BaseModel):
    model_config = ConfigDict(extra="ignore")

    case_id: str = Field(min_length=1)
    logical_operator: Literal["and", "or"] = "and"
    conditions: list[Condition] = Field(default_factory=list)


class IfElseConfig(NodeConfig):
    """A branching node in one of three shapes:

    - v1 `condition`: one `expression`; the edge labelled "true" or "false" is taken;
    - Dify: `cases`, tried in order; the first that holds chooses its `case_id` as the
      handle, else the handle is "false" (ELSE);
    - Dify's legacy form: `conditions` + `logical_operator`, one case "true".
    """

    expression: str | None = None
    cases: list[Case] | None = None
    conditions: list[Condition] | None = None
    logical_operator: Literal["and", "or"] = "and"

    @field_validator("expression")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is not None:
            conditions.parse(value)  # raises ExpressionError (a ValueError) with the position
        return value

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        forms = [f for f in ("expression", "cases", "conditions") if getattr(self, f) is not None]
        if len(forms) != 1:
            raise ValueError(
                "needs exactly one of `expression` (v1), `cases` or `conditions` (Dify)"
                + (f", not {' and '.join(forms)}" if forms else "")
            )
        return self

    def dify_cases(self) -> list[Case]:
        """The Dify cases to try in order (the legacy form as its one case)."""
        if self.cases is not None:
            return self.cases
        legacy = Case(
            case_id=LEGACY_CASE,
            logical_operator=self.logical_operator,
            conditions=self.conditions or [],
        )
        return [legacy]

    def references(self) -> list[Selector]:
        if self.expression is not None:
            return conditions.referenced(conditions.parse(self.expression))
        return [
            selector
            for case in self.dify_cases()
            for selector in dify_conditions.references_of(c.model_dump() for c in case.conditions)
        ]

    def handles(self) -> set[str] | None:
        if self.expression is not None:
            return {"true", "false"}
        return {case.case_id for case in self.dify_cases()} | {ELSE_HANDLE}

    @property
    def is_dify(self) -> bool:
        return self.expression is None
