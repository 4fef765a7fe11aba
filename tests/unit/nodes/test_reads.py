"""`reads()` (what the compiler passes a task) covers `references()` (what validation
checks) for every node of the Dify corpus and for the v1 shapes, so no task misses a
state its node reads."""

from __future__ import annotations

from typing import Any

import pytest

from functions.core.errors import InvalidWorkflow
from functions.core.model.dify_format import import_document
from functions.core.model.workflow import NodeType
from functions.nodes.catalog import NODES
from tests.conformance.corpus import dify_files

V1_CONFIGS: list[tuple[NodeType, dict[str, Any]]] = [
    (NodeType.IF_ELSE, {"expression": "{{a.result.n}} > 3 and {{ b.x }} == 'y'"}),
    (NodeType.LLM, {"prompt": "{{a.result}} {{#b.text#}}", "system": "{{c.x}}", "model": "m"}),
    (NodeType.TOOL, {"tool": "echo", "input": {"x": "{{a.result}}", "y": ["{{b.r}}"]}}),
    (NodeType.EMAIL_SEND, {"to": "{{a.to}}", "subject": "{{b.s}}", "body": "{{c.b}}"}),
    (NodeType.HTTP_REQUEST, {"url": "https://x/{{a.id}}", "headers": {"k": "{{b.h}}"}}),
]


def _covered(kind: NodeType, config: dict[str, Any]) -> None:
    model = NODES[kind].config.model_validate(config)
    reads = model.reads()
    assert reads is not None
    missing = set(model.references()) - set(reads)
    assert not missing, f"{kind}: reads() misses {missing}"


@pytest.mark.parametrize(("kind", "config"), V1_CONFIGS, ids=lambda v: str(v)[:20])
def test_reads_cover_the_references_of_v1_configs(kind: NodeType, config: dict[str, Any]) -> None:
    _covered(kind, config)


def test_reads_cover_the_references_of_every_node_of_the_dify_corpus() -> None:
    checked = 0
    for path in dify_files():
        try:
            draft = import_document(path.read_text(encoding="utf-8"))
        except InvalidWorkflow:
            continue  # a file using a node type without a function
        for node in draft.graph.nodes:
            if node.type in NODES:
                _covered(node.type, node.config)
                checked += 1
    assert checked > 50
