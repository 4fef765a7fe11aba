"""What every node type shares: its config base class, its result, and its context."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from functions.core.expressions.templates import Selector, references, render, single_reference
from functions.core.variables import VariablePool


class NodeConfig(BaseModel):
    """A node's static configuration, embedded in its task when the workflow is compiled."""

    model_config = ConfigDict(extra="ignore")

    def references(self) -> list[Selector]:
        """Selectors this config reads; validation checks each names an upstream node."""
        return [sel for text in _strings(self.model_dump()) for sel in references(text)]

    def handles(self) -> set[str] | None:
        """The outgoing handles a branching node can choose (None: not branching)."""
        return None


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@dataclass
class NodeResult:
    outputs: dict[str, Any]
    inputs: dict[str, Any] | None = None
    # The outgoing handle chosen by a branching node.
    handle: str | None = None
    tokens: int | None = None


@dataclass
class NodeContext:
    node_id: str
    node_type: str
    run_id: str
    workflow_id: str
    tenant_id: str
    pool: VariablePool
    extras: dict[str, Any] = field(default_factory=dict)

    def render(self, template: str) -> str:
        return render(template, self.pool.lookup)

    def resolve(self, value: Any) -> Any:
        """Render every string inside `value`; a string that is exactly one reference keeps
        the referenced value's own type (so `{{fetch.result}}` can pass an object on)."""
        if isinstance(value, str):
            selector = single_reference(value)
            return self.pool.lookup(selector) if selector else self.render(value)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value
