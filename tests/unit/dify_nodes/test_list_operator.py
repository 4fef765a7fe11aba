from __future__ import annotations

from typing import Any

import pytest

from functions.core.errors import NodeError
from functions.nodes.list_operator.entities import ListOperatorConfig
from functions.nodes.list_operator.node import run
from tests.unit.dify_nodes.support import context

WORDS = ["banana", "apple", "cherry", "avocado", ""]
NUMBERS = [5, 1.5, 10, -2, 7]
FILES = [
    {"filename": "b.pdf", "extension": ".pdf", "size": 300, "type": "document"},
    {"filename": "a.png", "extension": ".png", "size": 100, "type": "image"},
    {"filename": "c.jpg", "extension": ".jpg", "size": 200, "type": "image"},
]


def operate(variable: str, **config: Any) -> dict[str, Any]:
    node = ListOperatorConfig.model_validate(
        {"variable": ["data", variable], "title": "ignored", **config}
    )
    ctx = context(
        data={"words": WORDS, "numbers": NUMBERS, "files": FILES, "flags": [True, False, True]},
        limits={"min": 4, "nth": 2},
    )
    return run(node, ctx).outputs


def filtering(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"filter_by": {"enabled": True, "conditions": list(conditions)}}


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("contains", "an", ["banana"]),
        ("not contains", "a", ["cherry", ""]),
        # As Dify's list operator compares: every string contains the empty one.
        ("contains", "", WORDS),
        ("start with", "a", ["apple", "avocado"]),
        ("end with", "y", ["cherry"]),
        ("is", "apple", ["apple"]),
        ("is not", "apple", ["banana", "cherry", "avocado", ""]),
        ("in", "an apple a day", ["apple", ""]),
        ("not in", "an apple a day", ["banana", "cherry", "avocado"]),
        ("empty", "", [""]),
        ("not empty", "", ["banana", "apple", "cherry", "avocado"]),
    ],
)
def test_strings_filter_like_dify(operator: str, value: str, expected: list[str]) -> None:
    outputs = operate("words", **filtering({"comparison_operator": operator, "value": value}))

    assert outputs["result"] == expected


def test_number_conditions_take_templates_and_combine_with_and() -> None:
    outputs = operate(
        "numbers",
        **filtering(
            {"comparison_operator": "≥", "value": "{{#limits.min#}}"},
            {"comparison_operator": "≠", "value": "7"},
        ),
    )

    assert outputs == {"result": [5, 10], "first_record": 5, "last_record": 10}


def test_filter_extract_order_and_limit_run_in_difys_order() -> None:
    ordered = operate("numbers", order_by={"enabled": True, "value": "desc"})
    assert ordered["result"] == [10, 7, 5, 1.5, -2]

    limited = operate("words", limit={"enabled": True, "size": 2})
    assert limited["result"] == ["banana", "apple"]
    # Dify slices [:size], so an enabled limit of -1 drops the last element.
    assert operate("words", limit={"enabled": True, "size": -1})["result"] == WORDS[:-1]

    second = operate("words", extract_by={"enabled": True, "serial": "{{#limits.nth#}}"})
    assert second == {"result": ["apple"], "first_record": "apple", "last_record": "apple"}


def test_booleans_filter_with_is_and_is_not() -> None:
    outputs = operate("flags", **filtering({"comparison_operator": "is", "value": True}))

    assert outputs["result"] == [True, True]


def test_files_filter_and_order_by_an_attribute() -> None:
    images = operate(
        "files",
        **filtering({"key": "type", "comparison_operator": "in", "value": ["image"]}),
        order_by={"enabled": True, "key": "size", "value": "asc"},
    )
    assert [f["filename"] for f in images["result"]] == ["a.png", "c.jpg"]

    by_name = operate(
        "files", **filtering({"key": "name", "comparison_operator": "start with", "value": "b"})
    )
    assert by_name["first_record"] == FILES[0]

    big = operate("files", **filtering({"key": "size", "comparison_operator": ">", "value": "150"}))
    assert [f["filename"] for f in big["result"]] == ["b.pdf", "c.jpg"]


def test_an_empty_array_gives_an_empty_result() -> None:
    node = ListOperatorConfig.model_validate({"variable": ["data", "none"], **filtering()})

    assert run(node, context(data={"none": []})).outputs == {
        "result": [],
        "first_record": None,
        "last_record": None,
    }


@pytest.mark.parametrize(
    ("variable", "config", "message"),
    [
        ("missing", {}, "Variable not found for selector: ['data', 'missing']"),
        ("limits", {}, "is not an array type"),
        (
            "words",
            {"extract_by": {"enabled": True, "serial": "9"}},
            "Invalid serial index: must be <= 5, got 9",
        ),
        (
            "words",
            {"extract_by": {"enabled": True, "serial": "0"}},
            "Invalid serial index: must be >= 1",
        ),
        (
            "numbers",
            filtering({"comparison_operator": "contains", "value": "1"}),
            "Invalid condition: contains",
        ),
        ("numbers", filtering({"comparison_operator": ">", "value": "many"}), "is not a number"),
        (
            "flags",
            filtering({"comparison_operator": "is", "value": "true"}),
            "Boolean filter expects a boolean",
        ),
    ],
)
def test_bad_input_fails_the_node(variable: str, config: dict[str, Any], message: str) -> None:
    node = ListOperatorConfig.model_validate({"variable": ["data", variable], **config})
    ctx = context(data={"words": WORDS, "numbers": NUMBERS, "flags": [True], "limits": {"a": 1}})

    with pytest.raises(NodeError, match=message.replace("[", r"\[").replace("]", r"\]")):
        run(node, ctx)


def test_references_are_the_variable_and_templates_in_values() -> None:
    node = ListOperatorConfig.model_validate(
        {
            "variable": ["data", "numbers"],
            **filtering({"comparison_operator": ">", "value": "{{#limits.min#}}"}),
            "extract_by": {"enabled": False, "serial": "{{#limits.nth#}}"},
        }
    )

    assert node.references() == [("data", "numbers"), ("limits", "min"), ("limits", "nth")]
