from __future__ import annotations

from typing import Any

import pytest

from functions.core.errors import NodeError
from functions.nodes.assigner.entities import AssignerConfig
from functions.nodes.assigner.node import run
from tests.unit.dify_nodes.support import context

LOOP_VARIABLES = {
    "count": 2,
    "ratio": 0.5,
    "name": "ada",
    "tags": ["a"],
    "nums": [1, 2, 3],
    "items": [],
    "profile": {"k": 1},
    "done": False,
    "note": None,
}
UPSTREAM = {"tag": "b", "more": ["c", "d"], "title": "new", "nothing": None}


def assign(*items: dict[str, Any]) -> list[dict[str, Any]]:
    config = AssignerConfig.model_validate(
        {"version": "2", "items": list(items), "type": "assigner"}
    )
    outputs = run(config, context(loop=LOOP_VARIABLES, up=UPSTREAM)).outputs
    updates: list[dict[str, Any]] = outputs["updates"]
    return updates


def item(
    name: str, operation: str, value: Any = None, input_type: str = "constant"
) -> dict[str, Any]:
    return {
        "variable_selector": ["loop", name],
        "operation": operation,
        "input_type": input_type,
        "value": value,
    }


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (item("count", "+=", 3), 5),
        (item("count", "-=", 0.5), 1.5),
        (item("count", "*=", 4), 8),
        (item("count", "/=", 4), 0.5),
        (item("count", "set", 9), 9),
        (item("count", "clear", input_type="variable"), 0),
        (item("name", "over-write", ["up", "title"], "variable"), "new"),
        (item("name", "set", "grace"), "grace"),
        (item("name", "clear", input_type="variable"), ""),
        (item("tags", "append", ["up", "tag"], "variable"), ["a", "b"]),
        (item("tags", "extend", ["up", "more"], "variable"), ["a", "c", "d"]),
        (item("tags", "over-write", ["up", "more"], "variable"), ["c", "d"]),
        (item("nums", "remove-first", input_type="variable"), [2, 3]),
        (item("nums", "remove-last", input_type="variable"), [1, 2]),
        (item("items", "remove-last", input_type="variable"), []),
        (item("items", "append", ["up", "title"], "variable"), ["new"]),
        (item("tags", "clear", input_type="variable"), []),
        (item("profile", "set", '{"k": 2}'), {"k": 2}),
        (item("profile", "clear", input_type="variable"), {}),
        (item("done", "over-write", True), True),
        (item("note", "over-write", "now set"), "now set"),
    ],
)
def test_operations_compute_the_new_value_from_the_current_one(
    spec: dict[str, Any], expected: Any
) -> None:
    assert assign(spec) == [{"selector": spec["variable_selector"], "value": expected}]


def test_clearing_keeps_a_number_an_integer_or_a_float_as_dify_does() -> None:
    clear = {"operation": "clear", "input_type": "variable"}
    cleared = [u["value"] for u in assign(item("count", **clear), item("ratio", **clear))]

    assert [(v, type(v)) for v in cleared] == [(0, int), (0.0, float)]


def test_a_variable_input_an_earlier_item_assigned_reads_its_new_value() -> None:
    updates = assign(item("count", "+=", 1), item("nums", "append", ["loop", "count"], "variable"))

    assert updates[1] == {"selector": ["loop", "nums"], "value": [1, 2, 3, 3]}


def test_items_run_in_order_and_see_earlier_assignments() -> None:
    updates = assign(
        item("count", "+=", 1),
        item("count", "*=", 10),
        item("tags", "append", ["up", "tag"], "variable"),
        item("tags", "append", ["up", "title"], "variable"),
    )

    assert updates == [
        {"selector": ["loop", "count"], "value": 30},
        {"selector": ["loop", "tags"], "value": ["a", "b", "new"]},
    ]


def test_a_null_variable_input_skips_the_item() -> None:
    assert assign(item("name", "over-write", ["up", "nothing"], "variable")) == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (item("missing", "set", 1), "Variable ['loop', 'missing'] not found"),
        (
            item("name", "append", ["up", "tag"], "variable"),
            "Operation append is not supported for type string",
        ),
        (
            item("count", "remove-first", input_type="variable"),
            "Operation remove-first is not supported for type number",
        ),
        (item("count", "clear"), "Input type constant is not supported for operation clear"),
        (
            item("count", "+=", ["up", "title"], "variable"),
            "Input type variable is not supported for operation +=",
        ),
        (item("tags", "append", "x"), "Input type constant is not supported for operation append"),
        (item("count", "/=", 0), "Invalid input value 0"),
        (item("count", "+=", "3"), "Invalid input value 3"),
        (item("nums", "append", ["up", "tag"], "variable"), "Invalid input value b"),
        (item("profile", "set", "not json"), "Invalid input value not json"),
        (item("tags", "append", ["up", "gone"], "variable"), "Variable ['up', 'gone'] not found"),
    ],
)
def test_difys_checks_fail_the_node(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(NodeError) as caught:
        assign(spec)

    assert str(caught.value) == message
    assert caught.value.error_type == "VariableOperatorNodeError"


def test_a_variable_input_needs_a_selector() -> None:
    with pytest.raises(ValueError, match="selector"):
        AssignerConfig.model_validate({"items": [item("tags", "append", "oops", "variable")]})


def test_v1_config_is_read_as_one_item() -> None:
    config = AssignerConfig.model_validate(
        {
            "assigned_variable_selector": ["loop", "tags"],
            "input_variable_selector": ["up", "tag"],
            "write_mode": "append",
        }
    )

    outputs = run(config, context(loop=LOOP_VARIABLES, up=UPSTREAM)).outputs

    assert outputs == {"updates": [{"selector": ["loop", "tags"], "value": ["a", "b"]}]}
    assert config.references() == [("loop", "tags"), ("up", "tag")]
