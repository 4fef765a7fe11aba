from __future__ import annotations

from functions.nodes.answer.entities import AnswerConfig
from functions.nodes.entities import NodeContext, NodeResult


def run(config: AnswerConfig, ctx: NodeContext) -> NodeResult:
    return NodeResult(outputs={"answer": ctx.render(config.answer, dify=True)})
