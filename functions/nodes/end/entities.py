from __future__ import annotations

from pydantic import Field

from functions.nodes.dify_entities import VariableSelector
from functions.nodes.entities import NodeConfig


class EndConfig(NodeConfig):
    """Dify's end node: the run's outputs, each a named variable of the pool."""

    outputs: list[VariableSelector] = Field(default_factory=list)

    @property
    def is_dify(self) -> bool:
        return True
