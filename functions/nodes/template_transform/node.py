"""Dify's template-transform node: Jinja2 rendered in a limited child process.

Templates run in Jinja's sandbox with fast checks for huge values and a cap on the output
(functions/core/expressions/jinja.py), and that in a child forked from a warm server
(functions/nodes/forkserver.py) with the code node's limits and audit hook: a template that
loops or allocates without end fails this node with the limit it hit (wall clock and CPU
time, address space, answer size) and slows nobody else.
"""

from __future__ import annotations

from functions.nodes.dify_entities import resolve_variables
from functions.nodes.entities import NodeContext, NodeResult
from functions.nodes.forkserver import ForkServer
from functions.nodes.limited import Limits, Subject
from functions.nodes.template_transform.entities import TemplateTransformConfig

TEMPLATE_TRANSFORM_ERROR = "TemplateTransformError"
# Rendering takes milliseconds; 5 s of wall clock (6 of CPU), 256 MB of address space and a
# 4 MB answer (beside Jinja's own 400,000-character output cap) bound what a template costs.
LIMITS = Limits(timeout_seconds=5)
RENDERER = ForkServer(
    "functions.nodes.template_transform.child:render",
    Subject("template", "the rendered output", TEMPLATE_TRANSFORM_ERROR),
)


def run(config: TemplateTransformConfig, ctx: NodeContext, limits: Limits = LIMITS) -> NodeResult:
    values = resolve_variables(config.variables, ctx)
    output = RENDERER.call({"template": config.template, "variables": values}, limits)
    return NodeResult(outputs={"output": str(output)}, inputs=values)
