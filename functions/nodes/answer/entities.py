from __future__ import annotations

from functions.nodes.entities import NodeConfig


class AnswerConfig(NodeConfig):
    """Dify's answer node: a text with `{{#node.var#}}` references, rendered."""

    answer: str = ""

    @property
    def is_dify(self) -> bool:
        return True
