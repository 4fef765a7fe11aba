"""Environment variables of an imported Dify workflow reach its nodes at run time, and
secret values never travel in the execution state."""

from __future__ import annotations

import json

import pytest

from functions.core.model.dify_format import import_document
from functions.core.services import workflows
from tests.integration.graph_runs import TENANT, run
from tests.unit.dify.support import START, dify_edge, dify_node, dsl

pytestmark = pytest.mark.usefixtures("local_aws")


def test_env_values_and_secrets_are_read_by_nodes_but_not_carried_in_the_state() -> None:
    check = dify_node(
        "1713",
        "if-else",
        "Token?",
        cases=[
            {
                "case_id": "true",
                "logical_operator": "and",
                "conditions": [
                    {
                        "variable_selector": ["env", "TOKEN"],
                        "comparison_operator": "start with",
                        "value": "s3c",
                    }
                ],
            }
        ],
    )
    ends = [
        dify_node(
            node_id,
            "end",
            f"End {verdict}",
            outputs=[
                {"variable": "greeting", "value_selector": ["env", "GREETING"]},
                {"variable": "token_matched", "value_selector": ["1713", "result"]},
            ],
        )
        for node_id, verdict in (("1714", "yes"), ("1715", "no"))
    ]
    document = dsl(
        [START, check, *ends],
        [
            dify_edge("1711", "1713"),
            dify_edge("1713", "1714", "true"),
            dify_edge("1713", "1715", "false"),
        ],
        environment=[
            {"name": "GREETING", "value_type": "string", "value": "hello"},
            {"name": "TOKEN", "value_type": "secret", "value": "s3cr3t-value"},
        ],
    )
    workflow = workflows.create(TENANT, import_document(document))
    outcome = run(workflow, {"query": "hi"})

    assert outcome.run.outputs == {"greeting": "hello", "token_matched": True}
    assert "1714" in outcome.executed() and "1715" not in outcome.executed()
    assert "s3cr3t-value" not in json.dumps(outcome.history(), default=str)
