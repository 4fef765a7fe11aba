from __future__ import annotations

from pydantic import Field

from functions.core.expressions.templates import Selector
from functions.nodes.dify_entities import VariableSelector, selectors_of
from functions.nodes.entities import NodeConfig


class TemplateTransformConfig(NodeConfig):
    """Dify's template node: a Jinja2 template over named variables of the pool."""

    template: str = ""
    variables: list[VariableSelector] = Field(default_factory=list)

    def references(self) -> list[Selector]:
        # The template names its variables, not the pool: `{{ a.b }}` there is Jinja.
        return selectors_of(self.variables)

    @property
    def is_dify(self) -> bool:
        return True
