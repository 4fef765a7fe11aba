from __future__ import annotations

from functions.core.errors import NodeError
from functions.nodes.code.entities import CodeConfig
from functions.nodes.code.isolation import run_code
from functions.nodes.code.outputs import check_outputs
from functions.nodes.code.sandbox import CODE_EXECUTION_ERROR, Limits
from functions.nodes.dify_entities import resolve_variables
from functions.nodes.entities import NodeContext, NodeResult

SUPPORTED_LANGUAGES = frozenset({"python3", "python"})


def run(config: CodeConfig, ctx: NodeContext, limits: Limits | None = None) -> NodeResult:
    if config.code_language not in SUPPORTED_LANGUAGES:
        raise NodeError(
            f"only python3 code is supported, not {config.code_language}", CODE_EXECUTION_ERROR
        )
    inputs = resolve_variables(config.variables, ctx)
    result = run_code(config.code, inputs, limits)
    return NodeResult(outputs=check_outputs(result, config.outputs), inputs=inputs)
