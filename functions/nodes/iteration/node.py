"""The iteration node's two tasks around the compiled `Map`: prepare and collect."""

from __future__ import annotations

import json
from typing import Any

from functions.core import payloads
from functions.core.errors import NodeError
from functions.nodes.entities import NodeContext, NodeResult
from functions.nodes.iteration.entities import ErrorHandleMode, IterationConfig

# The items travel in the execution state (Map reads them there): keep well under 256 KB.
MAX_ITEMS_BYTES = 128 * 1024


def prepare(config: IterationConfig, ctx: NodeContext) -> list[Any]:
    items = ctx.pool.lookup(tuple(config.iterator_selector))
    if items is None:
        items = []
    if not isinstance(items, list):
        raise NodeError(
            f"iterator {'.'.join(config.iterator_selector)} is {type(items).__name__},"
            " not an array",
            "IterationInputError",
        )
    size = len(json.dumps(items, ensure_ascii=False).encode())
    if size > MAX_ITEMS_BYTES:
        raise NodeError(
            f"iterator input is {size:,} bytes; an iteration takes at most {MAX_ITEMS_BYTES:,}",
            "IterationInputError",
        )
    return items


def collect(config: IterationConfig, results: list[Any]) -> NodeResult:
    """One output per item in input order (the `Map` keeps order), per the error mode."""
    variable = config.output_selector[1:]
    outputs: list[Any] = []
    for result in results:
        if isinstance(result, dict) and result.get("failed"):
            if config.error_handle_mode is ErrorHandleMode.CONTINUE_ON_ERROR:
                outputs.append(None)
            continue
        values = payloads.unpack(result) if result else None
        outputs.append(_dig(values, variable))
    if config.flatten_output and outputs and all(isinstance(o, list) for o in outputs):
        outputs = [element for output in outputs for element in output]
    return NodeResult(outputs={"output": outputs, "result": outputs})


def _dig(values: dict[str, Any] | None, path: list[str]) -> Any:
    current: Any = values
    for segment in path:
        current = current.get(segment) if isinstance(current, dict) else None
    return current
