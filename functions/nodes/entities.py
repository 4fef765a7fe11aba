"""What every node type shares: its config base class, its result, and its context."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from functions.core.expressions.templates import Selector, references, render, single_reference
from functions.core.variables import VariablePool

# Keys under which a Dify node config names a variable directly: `["node_id", "var"]`.
SELECTOR_KEYS = frozenset({"value_selector", "variable_selector"})


class NodeConfig(BaseModel):
    """A node's static configuration, embedded in its task when the workflow is compiled."""

    model_config = ConfigDict(extra="ignore")

    def references(self) -> list[Selector]:
        """Selectors this config reads; validation checks each names an upstream node.

        Templates in any string, and Dify's `value_selector`/`variable_selector` lists.
        """
        dumped = self.model_dump()
        found = [sel for text in _strings(dumped) for sel in references(text, dify=self.is_dify)]
        return found + list(_selectors(dumped))

    def reads(self) -> list[Selector] | None:
        """Every selector this node's functions may read from the pool, so that the
        compiler hands each task only those nodes' states (None: not known, the task
        receives them all): every reference in either form in any string and every list
        of names anywhere in the config, so what a run reads is never missed (one too
        many costs only a state passed along). That covers references() of every node
        type (tests/unit/nodes/test_reads.py); a type reading a selector kept otherwise
        overrides this."""
        dumped = self.model_dump()
        texts = (sel for text in _strings(dumped) for sel in references(text))
        return [*texts, *_name_lists(dumped)]

    def save_problems(self) -> list[tuple[str, str]]:
        """What a save refuses although the model accepts it, as (field, reason): facts
        the node would otherwise only meet when it runs, such as a tool that does not
        exist. The model still accepts them, so a version published before a check was
        added runs, and fails, as it did."""
        return []

    def handles(self) -> set[str] | None:
        """The outgoing handles a branching node can choose (None: not branching)."""
        return None

    @property
    def is_dify(self) -> bool:
        """Whether this config is in Dify's shape, whose text holds only `{{#a.b#}}`
        references (a `{{ a.b }}` there is literal text, as in Dify)."""
        return False


def as_selector(value: Any) -> Selector | None:
    """A Dify selector (`["node_id", "var", ...]`) as a tuple, or None if `value` is none."""
    if (
        isinstance(value, list | tuple)
        and len(value) >= 2
        and all(isinstance(v, str) for v in value)
    ):
        return tuple(value)
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


def _selectors(value: Any) -> Iterator[Selector]:
    if isinstance(value, dict):
        for key, item in value.items():
            selector = as_selector(item) if key in SELECTOR_KEYS else None
            if selector is not None:
                yield selector
            else:
                yield from _selectors(item)
    elif isinstance(value, list):
        for item in value:
            yield from _selectors(item)


def _name_lists(value: Any) -> Iterator[Selector]:
    """Every list of names in `value`, wherever it is: any may be a selector."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _name_lists(item)
    elif isinstance(value, list):
        selector = as_selector(value)
        if selector is not None:
            yield selector
        for item in value:
            yield from _name_lists(item)


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

    def render(self, template: str, *, dify: bool = False) -> str:
        return render(template, self.pool.lookup, dify=dify)

    def resolve(self, value: Any, *, dify: bool = False) -> Any:
        """Render every string inside `value`; a string that is exactly one reference keeps
        the referenced value's own type (so `{{fetch.result}}` can pass an object on)."""
        if isinstance(value, str):
            selector = single_reference(value, dify=dify)
            return self.pool.lookup(selector) if selector else self.render(value, dify=dify)
        if isinstance(value, dict):
            return {k: self.resolve(v, dify=dify) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, dify=dify) for v in value]
        return value
