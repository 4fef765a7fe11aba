"""Saving an imported Dify graph: its selectors and templates are checked like any other."""

from __future__ import annotations

from typing import Any

import pytest

from functions.core.errors import InvalidWorkflow
from functions.core.model.dify_format import import_document
from functions.core.model.workflow import BODY_START_TYPES, NodeType
from functions.core.services.definitions import build_definition
from functions.nodes.catalog import NODES
from tests.unit.dify.support import START, dify_edge, dify_node, dsl

pytestmark = pytest.mark.usefixtures("deploy_env")


def save(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> list[str]:
    """The problems saving the imported graph finds (none: it compiled)."""
    draft = import_document(dsl(nodes, edges))
    try:
        build_definition(draft.graph, draft.entry)
    except InvalidWorkflow as exc:
        return [str(p) for p in exc.problems]
    return []


def end(*selectors: list[str]) -> dict[str, Any]:
    outputs = [{"variable": f"v{i}", "value_selector": s} for i, s in enumerate(selectors)]
    return dify_node("end", "end", "End", outputs=outputs)


def answer(text: str) -> dict[str, Any]:
    return dify_node("ans", "answer", "Answer", answer=text)


def test_selectors_and_templates_of_upstream_nodes_and_reserved_roots_pass() -> None:
    nodes = [
        START,
        answer("{{#1711.query#}} {{#sys.workflow_id#}} {{#env.API_BASE#}} {{ not.a.ref }}"),
        end(["1711", "query"], ["ans", "answer"], ["sys", "workflow_run_id"]),
    ]
    edges = [dify_edge("1711", "ans"), dify_edge("ans", "end")]

    assert save(nodes, edges) == []


def test_a_selector_of_a_node_that_runs_later_is_refused() -> None:
    nodes = [START, answer("{{#end.v0#}}"), end(["ans", "answer"], ["ghost", "x"])]
    edges = [dify_edge("1711", "ans"), dify_edge("ans", "end")]

    assert save(nodes, edges) == [
        "node 'ans': references 'end.v0' but 'end' does not run before it",
        "node 'end': references unknown node 'ghost'",
    ]


def test_if_else_conditions_and_values_are_references() -> None:
    branch = dify_node(
        "if",
        "if-else",
        cases=[
            {
                "case_id": "yes",
                "logical_operator": "and",
                "conditions": [
                    {
                        "variable_selector": ["ans", "answer"],
                        "comparison_operator": "is",
                        "value": "{{#1711.query#}}",
                    }
                ],
            }
        ],
    )
    nodes = [START, branch, answer("x"), end(["1711", "query"])]
    edges = [
        dify_edge("1711", "if"),
        dify_edge("if", "ans", "yes"),
        dify_edge("if", "end", "false"),
        dify_edge("ans", "end"),
    ]

    assert save(nodes, edges) == [
        "node 'if': references 'ans.answer' but 'ans' does not run before it"
    ]


def test_branch_handles_must_be_cases_or_false() -> None:
    branch = dify_node("if", "if-else", cases=[{"case_id": "yes", "conditions": []}])
    nodes = [START, branch, end(["1711", "query"])]
    edges = [dify_edge("1711", "if"), dify_edge("if", "end", "maybe")]

    assert save(nodes, edges) == [
        "edge if->end [maybe]: condition 'maybe' is not one of ['false', 'yes']"
    ]


def test_a_body_node_may_read_its_iteration_item() -> None:
    container = dify_node(
        "it",
        "iteration",
        iterator_selector=["1711", "items"],
        output_selector=["body", "output"],
    )
    marker = {
        "id": "itstart",
        "parentId": "it",
        "type": "custom-iteration-start",
        "data": {"type": "iteration-start", "title": ""},
    }
    body = dify_node(
        "body",
        "template-transform",
        template="{{ x }}",
        variables=[{"variable": "x", "value_selector": ["it", "item"]}],
        iteration_id="it",
    )
    nodes = [START, container, marker, body, end(["it", "output"])]
    edges = [dify_edge("1711", "it"), dify_edge("it", "end"), dify_edge("itstart", "body")]

    assert save(nodes, edges) == []


def test_dify_config_problems_are_found_at_save() -> None:
    nodes = [
        START,
        dify_node("agg", "variable-aggregator", variables="not a list"),
        end(["1711", "query"]),
    ]
    edges = [dify_edge("1711", "agg"), dify_edge("agg", "end")]

    assert save(nodes, edges) == ["node 'agg': config.variables: Input should be a valid list"]


def test_every_node_type_but_the_body_markers_has_a_function() -> None:
    # Validation and the compiler rely on it: each executable type has a NodeSpec.
    assert set(NodeType) - set(NODES) == BODY_START_TYPES
