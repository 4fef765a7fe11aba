from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from functions.core.expressions.templates import Selector
from functions.nodes.dify_entities import ValueType, VariableSelector, selectors_of
from functions.nodes.entities import NodeConfig


class OutputSpec(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: ValueType
    children: dict[str, OutputSpec] | None = None


class CodeConfig(NodeConfig):
    """Dify's code node: `main(**inputs) -> dict`, its result checked against `outputs`.

    Only python3 runs (in the sandbox of sandbox.py); another language is accepted here so
    a Dify import keeps the node, and fails when the node runs.
    """

    code: str
    code_language: str = "python3"
    # The arguments of `main`; an unset selector (Dify's default `arg1`) passes None.
    variables: list[VariableSelector] = Field(default_factory=list)
    # None: no declared outputs, every returned value is checked by its own type.
    outputs: dict[str, OutputSpec] | None = None

    @property
    def is_dify(self) -> bool:
        return True

    def references(self) -> list[Selector]:
        # The code's own text is not a template: `{{#a.b#}}` inside it is just text.
        return selectors_of(self.variables)
