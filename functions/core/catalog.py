"""What the core asks of the node types and the compiler, which sit above it.

The core is the bottom layer: the node packages and the compiler import it, never the
other way round. What a save, an import or a service run needs of them is this
interface. The settings name its implementation by import path (NODE_CATALOG, by default
functions/wiring.py), imported on first use, so a request that saves nothing never loads
the node catalogue or the compiler.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any, Protocol

from functions.core.expressions.templates import Selector
from functions.core.model.workflow import ExecutionMode, Graph, Node, NodeType
from functions.core.settings import get_settings


class ConfigRules(Protocol):
    """A node's validated config, as validation asks it."""

    def save_problems(self) -> list[tuple[str, str]]: ...

    def references(self) -> list[Selector]: ...

    def reads(self) -> list[Selector] | None:
        """What the node's functions may read of the pool (None: not known)."""
        ...

    def handles(self) -> set[str] | None: ...


class NodeTypes(Protocol):
    def supported(self) -> frozenset[NodeType]:
        """The node types that have a function."""
        ...

    def config(self, node: Node) -> ConfigRules | None:
        """The node's config validated by its type's model (pydantic's ValidationError
        when it does not fit); None for a type without a function."""
        ...

    def compile(self, graph: Graph, entry: str, mode: ExecutionMode) -> dict[str, Any]:
        """The graph's state machine definition for `mode`, calling this deployment's
        functions (InvalidWorkflow naming the states `mode` cannot run)."""
        ...

    def function_seconds(self, node_type: NodeType) -> int:
        """The Lambda timeout of the node type's function."""
        ...

    def runs_function_seconds(self) -> int:
        """The Lambda timeout of the runs function (a run's finalize and recover Tasks)."""
        ...

    def check_start_inputs(self, start_config: dict[str, Any], inputs: dict[str, Any]) -> None:
        """Refuse (NodeError) inputs the start node's form would refuse."""
        ...

    def check_model_provider(self) -> None:
        """Refuse (NodeError) when no model provider is configured."""
        ...


_lock = threading.Lock()
_loaded: dict[str, NodeTypes] = {}


def node_types() -> NodeTypes:
    """The implementation the settings name (`module:attribute`), imported on first use."""
    path = get_settings().node_catalog
    with _lock:
        if path not in _loaded:
            module, _, attribute = path.partition(":")
            _loaded[path] = getattr(importlib.import_module(module), attribute)
        return _loaded[path]
