"""Dify's start, end, answer, template-transform, variable-aggregator and if-else nodes."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from functions.core.errors import NodeError
from functions.nodes.answer.entities import AnswerConfig
from functions.nodes.answer.node import run as run_answer
from functions.nodes.end.entities import EndConfig
from functions.nodes.end.node import run as run_end
from functions.nodes.if_else.entities import IfElseConfig
from functions.nodes.if_else.node import run as run_if_else
from functions.nodes.start.entities import StartConfig
from functions.nodes.start.node import run as run_start
from functions.nodes.template_transform.entities import TemplateTransformConfig
from functions.nodes.template_transform.node import run as run_template
from functions.nodes.variable_aggregator.entities import VariableAggregatorConfig
from functions.nodes.variable_aggregator.node import run as run_aggregator
from tests.unit.dify.support import context
from tests.unit.dify.test_conditions import CASES as OPERATOR_CASES
from tests.unit.dify.test_conditions import VALUES

# --- start -------------------------------------------------------------------------------

FORM = StartConfig.model_validate(
    {
        "variables": [
            {"variable": "query", "type": "text-input", "required": True, "max_length": 5},
            {"variable": "essay", "type": "paragraph", "required": False, "default": "none"},
            {"variable": "size", "type": "select", "required": False, "options": ["S", "M"]},
            {"variable": "count", "type": "number", "required": False},
            {"variable": "agree", "type": "checkbox", "required": False},
            {"variable": "meta", "type": "json_object", "required": False},
            {"variable": "doc", "type": "file", "required": False},
            {"variable": "docs", "type": "file-list", "required": False, "max_length": 1},
        ]
    }
)


def start(inputs: Any, system: dict[str, Any] | None = None) -> dict[str, Any]:
    return run_start(FORM, context(inputs=inputs, system=system)).outputs


def test_start_outputs_the_declared_inputs_and_system_variables() -> None:
    outputs = start(
        {"query": "hi\x00", "count": "3", "agree": "yes", "extra": "dropped"},
        system={"workflow_id": "wf-1", "workflow_run_id": "run-1"},
    )

    assert outputs == {
        "query": "hi",
        "essay": "none",
        "size": None,
        "count": 3,
        "agree": True,
        "meta": None,
        "doc": None,
        "docs": None,
        "sys.workflow_id": "wf-1",
        "sys.workflow_run_id": "run-1",
    }


@pytest.mark.parametrize(
    ("inputs", "converted"),
    [
        ({"count": 2.5}, {"count": 2.5}),
        ({"count": "1.5"}, {"count": 1.5}),
        ({"count": " "}, {"count": None}),
        ({"agree": 0}, {"agree": False}),
        ({"agree": "off"}, {"agree": False}),
        ({"meta": '{"a": 1}'}, {"meta": {"a": 1}}),
        ({"meta": {"a": 1}}, {"meta": {"a": 1}}),
        ({"size": "M"}, {"size": "M"}),
        ({"doc": {"transfer_method": "remote_url"}}, {"doc": {"transfer_method": "remote_url"}}),
        ({"doc": ""}, {"doc": None}),
        ({"docs": [{"upload_file_id": "f1"}]}, {"docs": [{"upload_file_id": "f1"}]}),
    ],
)
def test_start_converts_inputs_like_dify(inputs: dict[str, Any], converted: dict[str, Any]) -> None:
    outputs = start({"query": "q", **inputs})

    assert {key: outputs[key] for key in converted} == converted


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({}, "query is required in input form"),
        ({"query": None}, "query is required in input form"),
        ({"query": "toolong"}, "query in input form must be less than 5 characters"),
        ({"query": 3}, "(type 'text-input') query in input form must be a string"),
        (
            {"query": "q", "size": "XL"},
            "size in input form must be one of the following: ['S', 'M']",
        ),
        ({"query": "q", "count": "many"}, "count in input form must be a valid number"),
        ({"query": "q", "count": [1]}, "count in input form must be a valid number"),
        ({"query": "q", "meta": "[1, 2]"}, "meta in input form must be a dict"),
        ({"query": "q", "meta": "{oops"}, "meta in input form must be a dict"),
        ({"query": "q", "doc": "a.pdf"}, "doc in input form must be a file"),
        ({"query": "q", "docs": ["a.pdf"]}, "docs in input form must be a list of files"),
        ({"query": "q", "docs": [{}, {}]}, "docs in input form must be less than 1 files"),
    ],
)
def test_start_refuses_bad_inputs_with_difys_messages(inputs: dict[str, Any], message: str) -> None:
    with pytest.raises(NodeError) as caught:
        start(inputs)
    assert str(caught.value) == message
    assert caught.value.error_type == "InvalidInput"


def test_an_empty_required_text_is_a_value() -> None:
    assert start({"query": ""})["query"] == ""


def test_start_needs_an_object_of_inputs() -> None:
    with pytest.raises(NodeError, match="the run's inputs must be an object, not list"):
        start(["q"])
    with pytest.raises(NodeError, match="query is required in input form"):
        start(None)


def test_unknown_input_types_are_refused_at_save() -> None:
    with pytest.raises(ValidationError):
        StartConfig.model_validate({"variables": [{"variable": "x", "type": "slider"}]})


# --- end and answer ----------------------------------------------------------------------

POOL = {
    "start": {"query": "hello", "n": 3},
    "llm": {"text": "an answer", "usage": {"total_tokens": 7}},
}


def test_end_outputs_named_variables_with_or_without_value_type() -> None:
    config = EndConfig.model_validate(
        {
            "outputs": [
                {"variable": "q", "value_selector": ["start", "query"], "value_type": "string"},
                {"variable": "usage", "value_selector": ["llm", "usage"]},
                {"variable": "skipped", "value_selector": ["other", "text"]},
                {"variable": "unset", "value_selector": []},
            ]
        }
    )

    outputs = run_end(config, context(POOL)).outputs

    assert outputs == {"q": "hello", "usage": {"total_tokens": 7}, "skipped": None, "unset": None}
    assert config.references() == [("start", "query"), ("llm", "usage"), ("other", "text")]


def test_answer_renders_difys_references_only() -> None:
    config = AnswerConfig(answer="{{#llm.text#}} ({{#start.n#}}) {{ start.query }}")

    assert run_answer(config, context(POOL)).outputs == {
        "answer": "an answer (3) {{ start.query }}"
    }
    assert config.references() == [("llm", "text"), ("start", "n")]


# --- template-transform ------------------------------------------------------------------


def template(text: str, **variables: list[str]) -> TemplateTransformConfig:
    return TemplateTransformConfig.model_validate(
        {
            "template": text,
            "variables": [{"variable": k, "value_selector": v} for k, v in variables.items()],
        }
    )


def test_template_transform_renders_jinja_over_its_variables() -> None:
    config = template(
        "{{ q | upper }}: {% for k, v in usage.items() %}{{ k }}={{ v }}{% endfor %}{{ nope }}",
        q=["start", "query"],
        usage=["llm", "usage"],
    )

    result = run_template(config, context(POOL))

    assert result.outputs == {"output": "HELLO: total_tokens=7"}
    assert result.inputs == {"q": "hello", "usage": {"total_tokens": 7}}
    # The Jinja text names variables, never the pool.
    assert config.references() == [("start", "query"), ("llm", "usage")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{% for %}", "template syntax error on line 1: Expected an expression"),
        ("{{ 1 / 0 }}", "template failed: ZeroDivisionError: division by zero"),
        ("{{ q.__class__.__mro__ }}", "template failed: access to attribute '__class__'"),
        ("{{ 'x' * 500000 }}", "Output length exceeds 400000 characters"),
    ],
)
def test_template_errors_are_node_errors(text: str, message: str) -> None:
    with pytest.raises(NodeError) as caught:
        run_template(template(text, q=["start", "query"]), context(POOL))
    assert str(caught.value).startswith(message)
    assert caught.value.error_type == "TemplateTransformError"


# --- variable-aggregator -----------------------------------------------------------------


def test_aggregator_takes_the_first_variable_that_has_a_value() -> None:
    config = VariableAggregatorConfig.model_validate(
        {"output_type": "string", "variables": [["a", "text"], ["b", "text"], ["c", "text"]]}
    )

    assert run_aggregator(
        config, context({"b": {"text": "from b"}, "c": {"text": "c"}})
    ).outputs == {"output": "from b"}
    assert run_aggregator(config, context({})).outputs == {}
    assert config.references() == [("a", "text"), ("b", "text"), ("c", "text")]


def test_aggregator_groups_give_one_output_each() -> None:
    config = VariableAggregatorConfig.model_validate(
        {
            "variables": [],
            "advanced_settings": {
                "group_enabled": True,
                "groups": [
                    {"group_name": "answer", "variables": [["a", "text"], ["b", "text"]]},
                    {"group_name": "count", "variables": [["a", "n"], ["b", "n"]]},
                    {"group_name": "never", "variables": [["z", "n"]]},
                ],
            },
        }
    )

    outputs = run_aggregator(config, context({"b": {"text": "B", "n": 2}})).outputs

    assert outputs == {"answer": {"output": "B"}, "count": {"output": 2}}
    assert ("z", "n") in config.references()


# --- if-else -----------------------------------------------------------------------------


def if_else(**config: Any) -> IfElseConfig:
    return IfElseConfig.model_validate(config)


def condition(selector: list[str], operator: str, value: Any = None) -> dict[str, Any]:
    return {"variable_selector": selector, "comparison_operator": operator, "value": value}


CASES = if_else(
    cases=[
        {
            "case_id": "big",
            "logical_operator": "and",
            "conditions": [condition(["start", "n"], ">", "10")],
        },
        {
            "case_id": "hello",
            "logical_operator": "or",
            "conditions": [
                condition(["start", "query"], "start with", "{{#llm.text#}}"),
                condition(["start", "query"], "contains", "ell"),
            ],
        },
    ]
)


def test_the_first_case_that_holds_is_the_handle() -> None:
    result = run_if_else(CASES, context(POOL))

    assert result.handle == "hello"
    assert result.outputs == {"result": True, "selected_case_id": "hello"}
    assert result.inputs == {
        "values": {"start.n": 3, "start.query": "hello", "llm.text": "an answer"}
    }


def test_no_case_holding_is_else_false() -> None:
    result = run_if_else(CASES, context({"start": {"query": "bye", "n": 1}, "llm": {"text": "hi"}}))

    assert result.handle == "false"
    assert result.outputs == {"result": False, "selected_case_id": "false"}


def test_cases_declare_their_handles_and_references() -> None:
    assert CASES.handles() == {"big", "hello", "false"}
    assert CASES.references() == [
        ("start", "n"),
        ("start", "query"),
        ("llm", "text"),
        ("start", "query"),
    ]


@pytest.mark.parametrize(("variable", "operator", "value", "expected"), OPERATOR_CASES)
def test_if_else_runs_every_operator(
    variable: str, operator: str, value: Any, expected: bool
) -> None:
    config = if_else(
        cases=[{"case_id": "yes", "conditions": [condition(["n", variable], operator, value)]}]
    )
    lookup_values = {selector[1]: v for selector, v in VALUES.items()}

    result = run_if_else(config, context({"n": lookup_values}))

    assert result.handle == ("yes" if expected else "false")


def test_the_legacy_form_is_one_case_true() -> None:
    config = if_else(
        logical_operator="and",
        conditions=[
            condition(["start", "query"], "is", "hello"),
            condition(["start", "n"], "=", 3),
        ],
    )

    assert config.handles() == {"true", "false"}
    assert run_if_else(config, context(POOL)).handle == "true"
    assert run_if_else(config, context({"start": {"query": "x", "n": 3}})).handle == "false"


def test_the_v1_expression_still_works() -> None:
    config = if_else(expression='{{start.n}} >= 3 and {{start.query}} contains "ell"')

    result = run_if_else(config, context(POOL))

    assert (result.handle, result.outputs) == ("true", {"result": True})
    assert config.handles() == {"true", "false"}


def test_a_condition_on_the_wrong_type_fails_the_node_naming_the_case() -> None:
    config = if_else(
        cases=[{"case_id": "c", "conditions": [condition(["start", "n"], "contains", "3")]}]
    )

    with pytest.raises(NodeError) as caught:
        run_if_else(config, context(POOL))
    assert str(caught.value) == "case 'c': 'contains' needs text or an array, not a number"
    assert caught.value.error_type == "ConditionError"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "needs exactly one of `expression` (v1), `cases` or `conditions` (Dify)"),
        (
            {"expression": "1 == 1", "cases": []},
            "needs exactly one of `expression` (v1), `cases` or `conditions` (Dify), "
            "not expression and cases",
        ),
        (
            {"cases": [{"case_id": "c", "conditions": [condition(["a", "b"], "like")]}]},
            "unknown comparison operator 'like'",
        ),
    ],
)
def test_if_else_configs_are_checked_at_save(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        if_else(**config)
    assert message in str(caught.value)
