from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from functions.core.expressions.templates import Selector
from functions.nodes.entities import NodeConfig, as_selector


class Group(BaseModel):
    model_config = ConfigDict(extra="ignore")

    group_name: str
    variables: list[list[str]] = Field(default_factory=list)
    output_type: str = "any"


class AdvancedSettings(BaseModel):
    model_config = ConfigDict(extra="ignore")

    group_enabled: bool = False
    groups: list[Group] = Field(default_factory=list)


class VariableAggregatorConfig(NodeConfig):
    """Dify's variable aggregator: the first of several variables that has a value (the
    one whose branch ran), or one such value per group when groups are enabled."""

    variables: list[list[str]] = Field(default_factory=list)
    output_type: str = "any"
    advanced_settings: AdvancedSettings | None = None

    @property
    def grouped(self) -> bool:
        return self.advanced_settings is not None and self.advanced_settings.group_enabled

    def candidates(self) -> dict[str | None, list[Selector]]:
        """The selectors to try in order: per group name, or under None without groups."""
        if self.advanced_settings is not None and self.grouped:
            return {g.group_name: _selectors(g.variables) for g in self.advanced_settings.groups}
        return {None: _selectors(self.variables)}

    def references(self) -> list[Selector]:
        return [selector for group in self.candidates().values() for selector in group]

    @property
    def is_dify(self) -> bool:
        return True


def _selectors(values: list[list[str]]) -> list[Selector]:
    return [selector for value in values if (selector := as_selector(value))]
