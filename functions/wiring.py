"""The node catalogue and the compiler behind the core's port (functions/core/catalog.py):
the one module that binds the core to the layers above it (the default NODE_CATALOG)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from functions.core.catalog import ConfigRules
from functions.core.errors import InvalidWorkflow, Problem
from functions.core.expressions.templates import Selector
from functions.core.model.workflow import ExecutionMode, Graph, Node, NodeType
from functions.core.settings import get_settings
from functions.nodes.catalog import NODES, RUNS_TIMEOUT_SECONDS
from functions.nodes.llm.providers import provider_for
from functions.nodes.start.entities import StartConfig
from functions.nodes.start.inputs import prepare_inputs
from statemachines import express
from statemachines.compiler import Targets, compile_workflow


class _NodeTypes:
    def supported(self) -> frozenset[NodeType]:
        return frozenset(NODES)

    def config(self, node: Node) -> ConfigRules | None:
        spec = NODES.get(node.type)
        return None if spec is None else spec.config.model_validate(node.config)

    def compile(self, graph: Graph, entry: str, mode: ExecutionMode) -> dict[str, Any]:
        settings = get_settings()
        targets = Targets(
            node_functions=settings.node_function_arns, runs_function=settings.runs_function_arn
        )
        definition = compile_workflow(graph, entry=entry, targets=targets, reads=node_reads)
        if mode is ExecutionMode.STANDARD:
            return definition
        if waiting := express.waits(definition):
            raise InvalidWorkflow(
                [Problem(f"state '{name}'", "express: Express cannot wait") for name in waiting]
            )
        return express.for_express(definition)

    def function_seconds(self, node_type: NodeType) -> int:
        return NODES[node_type].timeout

    def runs_function_seconds(self) -> int:
        return RUNS_TIMEOUT_SECONDS

    def check_start_inputs(self, start_config: dict[str, Any], inputs: dict[str, Any]) -> None:
        prepare_inputs(StartConfig.model_validate(start_config).variables, inputs)

    def check_model_provider(self) -> None:
        provider_for(get_settings())


def node_reads(function: NodeType, config: Mapping[str, Any]) -> list[Selector] | None:
    """What `function` reads of the pool when run with `config` (None: not known)."""
    spec = NODES.get(function)
    try:
        return None if spec is None else spec.config.model_validate(config).reads()
    except ValidationError:
        return None  # the task fails on its config; whatever it reads, it gets all


NODE_TYPES = _NodeTypes()
