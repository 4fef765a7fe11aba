"""Dify's comparison operators, as the if-else and loop nodes evaluate them."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from functions.core.expressions.dify_conditions import (
    OPERATORS,
    Condition,
    ConditionError,
    evaluate_all,
    evaluate_condition,
    references_of,
)

VALUES: dict[tuple[str, ...], Any] = {
    ("n", "text"): "hello world",
    ("n", "empty_text"): "",
    ("n", "number"): 5,
    ("n", "float"): 2.5,
    ("n", "zero"): 0,
    ("n", "flag"): True,
    ("n", "off"): False,
    ("n", "list"): ["a", "b", "c"],
    ("n", "empty_list"): [],
    ("n", "object"): {"k": 1},
    ("n", "none"): None,
    ("n", "word"): "b",
    ("n", "files"): [
        {
            "dify_model_identity": "__dify__file__",
            "type": "image",
            "extension": "png",
            "filename": "cat.png",
            "transfer_method": "local_file",
        },
        {
            "dify_model_identity": "__dify__file__",
            "type": "document",
            "extension": ".pdf",
            "filename": "report.pdf",
            "transfer_method": "remote_url",
        },
    ],
}


def lookup(selector: tuple[str, ...]) -> Any:
    return VALUES.get(selector)


def holds(variable: str, operator: str, value: Any = None, **extra: Any) -> bool:
    condition = {
        "variable_selector": ["n", variable],
        "comparison_operator": operator,
        "value": value,
        **extra,
    }
    return evaluate_condition(condition, lookup)


CASES: list[tuple[str, str, Any, bool]] = [
    # text
    ("text", "contains", "world", True),
    ("text", "contains", "World", False),
    ("list", "contains", "b", True),
    ("list", "contains", "z", False),
    ("none", "contains", "x", False),
    ("empty_text", "contains", "", False),
    ("text", "not contains", "xyz", True),
    ("text", "not contains", "hello", False),
    ("none", "not contains", "x", True),
    ("list", "not contains", "a", False),
    ("text", "start with", "hello", True),
    ("text", "start with", "world", False),
    ("none", "start with", "x", False),
    ("text", "end with", "world", True),
    ("text", "end with", "hello", False),
    ("empty_text", "end with", "", False),
    ("text", "is", "hello world", True),
    ("text", "is", "hello", False),
    ("none", "is", "x", False),
    ("text", "is not", "hello", True),
    ("text", "is not", "hello world", False),
    ("none", "is not", "x", False),
    # emptiness and presence
    ("empty_text", "empty", None, True),
    ("empty_list", "empty", None, True),
    ("none", "empty", None, True),
    ("zero", "empty", None, True),
    ("text", "empty", None, False),
    ("text", "not empty", None, True),
    ("empty_list", "not empty", None, False),
    ("none", "null", None, True),
    ("empty_text", "null", None, False),
    ("empty_text", "not null", None, True),
    ("none", "not null", None, False),
    ("zero", "exists", None, True),
    ("none", "exists", None, False),
    ("missing", "exists", None, False),
    ("missing", "not exists", None, True),
    ("zero", "not exists", None, False),
    # membership
    ("word", "in", ["a", "b"], True),
    ("word", "in", ["x"], False),
    ("empty_text", "in", [""], False),
    ("word", "not in", ["x"], True),
    ("word", "not in", ["b"], False),
    ("none", "not in", ["x"], True),
    ("list", "all of", ["a", "c"], True),
    ("list", "all of", ["a", "z"], False),
    ("empty_list", "all of", ["a"], False),
    # numbers: the expected value is converted to a number
    ("number", "=", "5", True),
    ("number", "=", 5, True),
    ("number", "=", "6", False),
    ("float", "=", "2.5", True),
    ("number", "≠", "6", True),
    ("number", "≠", "5", False),
    ("number", ">", "4", True),
    ("number", ">", "5", False),
    ("number", "<", "5.5", True),
    ("number", "<", "5", False),
    ("number", "≥", "5", True),
    ("number", "≥", "6", False),
    ("number", "≤", "5", True),
    ("number", "≤", "4", False),
    ("none", ">", "1", False),
    ("none", "=", "1", False),
    # booleans: the expected text is read as a boolean
    ("flag", "is", "true", True),
    ("flag", "is", "false", False),
    ("off", "is not", "true", True),
    ("flag", "=", "1", True),
    ("off", "=", "0", True),
    ("flag", "≠", "true", False),
]


@pytest.mark.parametrize(("variable", "operator", "value", "expected"), CASES)
def test_operator(variable: str, operator: str, value: Any, expected: bool) -> None:
    assert holds(variable, operator, value) is expected


def test_every_operator_is_covered() -> None:
    assert {case[1] for case in CASES} == OPERATORS
    assert len(OPERATORS) == 21


@pytest.mark.parametrize(
    ("variable", "operator", "value", "message"),
    [
        ("number", "contains", "5", "'contains' needs text or an array, not a number"),
        ("list", "start with", "a", "'start with' needs text, not an array"),
        ("number", "is", "5", "'is' needs text or a boolean, not a number"),
        ("text", ">", "1", "'>' needs a number, not text"),
        ("flag", ">", "1", "'>' needs a number, not a boolean"),
        ("number", "=", "five", "'=' needs a number to compare with, not 'five'"),
        ("word", "in", "b", "'in' needs an array of values to compare with"),
        ("flag", "is", "maybe", "expected a boolean value, not 'maybe'"),
        ("text", "like", "x", "unsupported comparison operator 'like'"),
    ],
)
def test_a_wrong_type_is_an_error_as_in_dify(
    variable: str, operator: str, value: Any, message: str
) -> None:
    with pytest.raises(ConditionError) as caught:
        holds(variable, operator, value)
    assert str(caught.value) == message


def test_the_value_is_a_template() -> None:
    assert holds("text", "start with", "{{#n.text#}}")
    assert holds("number", "=", "{{#n.number#}}")
    # Only Dify's form: `{{ n.word }}` is literal text there.
    assert not holds("text", "contains", "{{ n.word }}")


def test_file_arrays_use_sub_conditions() -> None:
    def files(operator: str, *conditions: dict[str, Any], logic: str = "and") -> bool:
        sub = {"logical_operator": logic, "conditions": list(conditions)}
        return holds("files", operator, None, sub_variable_condition=sub)

    png = {"key": "extension", "comparison_operator": "is", "value": "png"}
    pdf = {"key": "extension", "comparison_operator": "is", "value": ".pdf"}
    image = {"key": "type", "comparison_operator": "is", "value": "image"}
    named = {"key": "name", "comparison_operator": "contains", "value": "cat"}
    no_audio = {"key": "type", "comparison_operator": "not in", "value": ["audio"]}
    video = {"key": "type", "comparison_operator": "is", "value": "video"}

    assert files("contains", png, pdf)
    assert files("contains", image, named)
    assert files("all of", no_audio)
    assert not files("contains", video)
    assert files("contains", video, png, logic="or")


def test_evaluate_all_is_and_or_or() -> None:
    yes = {"variable_selector": ["n", "text"], "comparison_operator": "not empty"}
    no = {"variable_selector": ["n", "none"], "comparison_operator": "not empty"}
    broken = {"variable_selector": ["n", "number"], "comparison_operator": "contains"}

    assert evaluate_all([yes, yes], "and", lookup)
    assert not evaluate_all([yes, no], "and", lookup)
    assert evaluate_all([no, yes], "or", lookup)
    assert not evaluate_all([no, no], "or", lookup)
    assert evaluate_all([], "and", lookup)
    # Short-circuit like Dify: a decided result never evaluates the rest.
    assert not evaluate_all([no, broken], "and", lookup)
    assert evaluate_all([yes, broken], "or", lookup)
    with pytest.raises(ConditionError, match="logical_operator must be 'and' or 'or'"):
        evaluate_all([yes], "xor", lookup)


def test_references_name_variables_and_templates_in_values() -> None:
    conditions = [
        {"variable_selector": ["a", "x"], "comparison_operator": "=", "value": "{{#b.y#}}"},
        {"variable_selector": ["sys", "query"], "comparison_operator": "empty"},
    ]

    assert references_of(conditions) == [("a", "x"), ("b", "y"), ("sys", "query")]


def test_condition_model_refuses_unknown_operators() -> None:
    Condition.model_validate({"variable_selector": ["a", "b"], "comparison_operator": "≥"})
    with pytest.raises(ValidationError, match="unknown comparison operator 'like'"):
        Condition.model_validate({"variable_selector": ["a", "b"], "comparison_operator": "like"})
