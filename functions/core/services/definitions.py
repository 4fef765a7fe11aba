"""From a graph to a deployable definition: validate every rule, then compile."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from functions.core.catalog import node_types
from functions.core.errors import InvalidWorkflow, Problem
from functions.core.expressions.templates import Selector
from functions.core.model import express
from functions.core.model.validation import validate_graph
from functions.core.model.workflow import BODY_START_TYPES, ExecutionMode, Graph, Node
from functions.core.settings import get_settings

# Step Functions refuses definitions over 1 MiB.
MAX_DEFINITION_BYTES = 1024 * 1024


def problems(
    graph: Graph,
    entry: str | None,
    known: list[Problem] | None = None,
    mode: ExecutionMode = ExecutionMode.STANDARD,
) -> list[Problem]:
    """Every problem validation finds (with `known`, what the importer found)."""
    try:
        _validate(graph, entry, known, mode)
    except InvalidWorkflow as exc:
        return exc.problems
    return []


def _validate(
    graph: Graph, entry: str | None, known: list[Problem] | None, mode: ExecutionMode
) -> None:
    settings = get_settings()
    validate_graph(
        graph,
        known=known,
        entry=entry,
        check_config=_check_config,
        max_nodes=settings.max_nodes,
        max_edges=settings.max_edges,
        handles=_handles,
    )
    # Only a sound graph has a longest path to measure.
    if mode is ExecutionMode.EXPRESS:
        catalog = node_types()
        limits = express.Limits(catalog.function_seconds, catalog.runs_function_seconds())
        if found := express.problems(graph, limits):
            raise InvalidWorkflow(found)


def build_definition(
    graph: Graph,
    entry: str | None,
    known: list[Problem] | None = None,
    mode: ExecutionMode = ExecutionMode.STANDARD,
) -> dict[str, Any]:
    """Validate (adding `known`, what the importer found) and compile for `mode`, or
    raise with every problem at once."""
    _validate(graph, entry, known, mode)
    assert entry is not None  # validate_graph refuses a graph without one
    definition = node_types().compile(graph, entry, mode)
    size = len(json.dumps(definition, ensure_ascii=False).encode())
    if size > MAX_DEFINITION_BYTES:
        raise InvalidWorkflow(
            [
                Problem(
                    "definition",
                    f"the compiled state machine is {size:,} bytes; "
                    f"Step Functions allows {MAX_DEFINITION_BYTES:,}",
                )
            ]
        )
    return definition


def _check_config(node: Node) -> tuple[list[str], list[Selector]]:
    if node.type in BODY_START_TYPES:
        return [], []  # a marker where a body starts: no config, no task
    try:
        config = node_types().config(node)
    except ValidationError as exc:
        return [_config_error(error["loc"], error["msg"]) for error in exc.errors()], []
    if config is None:
        return [], []  # validation refuses the unsupported type itself
    refused = [_config_error((field,), reason) for field, reason in config.save_problems()]
    return refused, config.references()


def _config_error(location: tuple[int | str, ...], message: str) -> str:
    path = ".".join(str(part) for part in ("config", *location))
    return f"{path}: {message}"


def _handles(node: Node) -> set[str] | None:
    try:
        config = node_types().config(node)
    except ValidationError:
        return None
    return None if config is None else config.handles()
