from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from functions.core.expressions.templates import Selector
from functions.nodes.entities import NodeConfig


class ErrorHandleMode(StrEnum):
    TERMINATED = "terminated"  # one failing item fails the iteration
    CONTINUE_ON_ERROR = "continue-on-error"  # a failing item's output is null
    REMOVE_ABNORMAL_OUTPUT = "remove-abnormal-output"  # a failing item's output is dropped


class IterationConfig(NodeConfig):
    """Dify's iteration: run the body once per element of an upstream array."""

    iterator_selector: list[str] = Field(min_length=2)
    # The body node variable collected per item; validated against the body at compile.
    output_selector: list[str] = Field(min_length=2)
    is_parallel: bool = False
    parallel_nums: int = Field(default=10, ge=1, le=100)
    error_handle_mode: ErrorHandleMode = ErrorHandleMode.TERMINATED
    # When every collected element is itself a list, join them into one list.
    flatten_output: bool = True

    def references(self) -> list[Selector]:
        # The output selector names a body node, which runs inside, not before, the node.
        return [tuple(self.iterator_selector)]
