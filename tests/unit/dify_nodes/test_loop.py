"""The loop node's init and check tasks, fed `vars` built by hand as the compiled state
machine would pass them (statemachines/compiler/containers.py `loop`)."""

from __future__ import annotations

from typing import Any

import pytest

from functions.core import payloads
from functions.core.data import runs
from functions.core.errors import NodeError
from functions.nodes.loop import handler
from functions.nodes.loop.entities import LoopConfig
from functions.nodes.loop.node import apply_updates, breaks, initial_variables
from functions.nodes.runtime import NodeFailed
from local import aws
from tests.unit.dify_nodes.support import RUN_ID, context, task_event
from tests.unit.nodes.support import LAMBDA_CONTEXT

UPSTREAM = {"start": {"outputs": {"limit": 3, "seed": ["x"]}}}


def loop_config(**overrides: Any) -> dict[str, Any]:
    return {
        "loop_count": 5,
        "logical_operator": "and",
        "break_conditions": [
            {
                "variable_selector": ["loop", "total"],
                "comparison_operator": "≥",
                "value": "{{#start.limit#}}",
            }
        ],
        "loop_variables": [
            {"label": "total", "var_type": "number", "value_type": "constant", "value": 0},
            {
                "label": "seen",
                "var_type": "array[string]",
                "value_type": "variable",
                "value": ["start", "seed"],
            },
        ],
        **overrides,
    }


def call(
    action: str, config: dict[str, Any], variables: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    event = task_event("loop", "loop", config, variables, action=action, **extra)
    result: dict[str, Any] = handler.handler(event, LAMBDA_CONTEXT)
    return result


def adds(amount: int, tag: str) -> dict[str, Any]:
    """The state an assigner in the body leaves: its updates of the loop's variables."""
    return {
        "outputs": {
            "updates": [
                {"selector": ["loop", "total"], "value": amount},
                {"selector": ["loop", "seen"], "value": ["x", tag]},
            ]
        }
    }


# -- pure parts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("var_type", "value", "expected"),
    [
        ("number", 3, 3),
        ("number", "2.5", 2.5),
        ("string", "hi", "hi"),
        ("boolean", "true", True),
        ("object", '{"a": 1}', {"a": 1}),
        ("object", {"a": 1}, {"a": 1}),
        ("array[number]", "[1, 2]", [1, 2]),
        ("array[string]", ["a"], ["a"]),
        ("array[object]", None, []),
        ("array[boolean]", [True], [True]),
    ],
)
def test_constant_initial_values_are_read_as_dify_reads_them(
    var_type: str, value: Any, expected: Any
) -> None:
    config = LoopConfig.model_validate(
        loop_config(loop_variables=[{"label": "v", "var_type": var_type, "value": value}])
    )

    assert initial_variables(config, context(UPSTREAM)) == {"v": expected}


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        (
            {"label": "v", "var_type": "number", "value": "many"},
            "Invalid value for loop variable v",
        ),
        ({"label": "v", "var_type": "array[number]", "value": '["a"]'}, "expected array[number]"),
        (
            {
                "label": "v",
                "var_type": "string",
                "value_type": "variable",
                "value": ["start", "nope"],
            },
            "Invalid value for loop variable v",
        ),
    ],
)
def test_bad_initial_values_fail(variable: dict[str, Any], message: str) -> None:
    config = LoopConfig.model_validate(loop_config(loop_variables=[variable]))

    with pytest.raises(NodeError, match=message.replace("[", r"\[").replace("]", r"\]")):
        initial_variables(config, context(UPSTREAM))


def test_break_conditions_hold_never_when_absent_or_unevaluable() -> None:
    values = {"loop": {"total": 3}, "start": {"limit": 3}}

    def lookup(selector: tuple[str, ...]) -> Any:
        return values.get(selector[0], {}).get(selector[1])

    assert breaks(LoopConfig.model_validate(loop_config()), lookup) is True
    assert breaks(LoopConfig.model_validate(loop_config(break_conditions=[])), lookup) is False
    text_vs_number = [
        {"variable_selector": ["loop", "total"], "comparison_operator": "contains", "value": "3"}
    ]
    assert (
        breaks(LoopConfig.model_validate(loop_config(break_conditions=text_vs_number)), lookup)
        is False
    )


def test_updates_apply_in_order_to_this_loops_variables_only() -> None:
    variables = {"total": 0, "seen": []}
    foreign = {"outputs": {"updates": [{"selector": ["other", "total"], "value": 99}]}}
    not_an_assigner = {"outputs": {"updates": "text", "total": 5}}
    unknown_label = {"outputs": {"updates": [{"selector": ["loop", "nope"], "value": 1}]}}

    apply_updates(
        "loop",
        variables,
        [adds(1, "a"), foreign, None, not_an_assigner, unknown_label, adds(2, "b")],
    )

    assert variables == {"total": 2, "seen": ["x", "b"]}


def test_loop_count_is_required_and_capped() -> None:
    for count in (0, 101):
        with pytest.raises(ValueError, match="loop_count"):
            LoopConfig.model_validate(loop_config(loop_count=count))
    assert LoopConfig.model_validate(loop_config()).references() == [("start", "seed")]


# -- init and check through the function's handler ---------------------------------


def test_init_starts_the_loop_with_its_variables_as_outputs(local_aws: aws.LocalAws) -> None:
    state = call("init", loop_config(), UPSTREAM)

    assert state == {
        "outputs": {"total": 0, "seen": ["x"]},
        "done": False,
        "count": 0,
        "startedAt": state["startedAt"],
    }
    [started] = runs.events(RUN_ID)
    assert (started.type, started.node_id, started.status) == ("node_started", "loop", "running")


def test_check_applies_the_rounds_updates_and_clears_the_body(local_aws: aws.LocalAws) -> None:
    loop_state = call("init", loop_config(), UPSTREAM)
    variables = {
        **UPSTREAM,
        "loop": loop_state,
        "assign": adds(1, "a"),
        "llm": {"outputs": {"text": "round 1"}},
    }

    new_vars = call("check", loop_config(), variables, body=["assign", "llm", "skipped"])

    assert set(new_vars) == {"start", "loop"}
    assert new_vars["start"] == UPSTREAM["start"]
    assert new_vars["loop"] == {
        "outputs": {"total": 1, "seen": ["x", "a"]},
        "done": False,
        "count": 1,
        "startedAt": loop_state["startedAt"],
    }
    assert [e.type for e in runs.events(RUN_ID)] == ["node_started"]


def test_check_finishes_when_the_break_conditions_hold(local_aws: aws.LocalAws) -> None:
    loop_state = call("init", loop_config(), UPSTREAM)
    round_one = call(
        "check",
        loop_config(),
        {**UPSTREAM, "loop": loop_state, "assign": adds(2, "a")},
        body=["assign"],
    )
    round_two = call("check", loop_config(), {**round_one, "assign": adds(3, "b")}, body=["assign"])

    assert round_one["loop"]["done"] is False
    assert round_two["loop"]["done"] is True
    assert round_two["loop"]["count"] == 2
    assert round_two["loop"]["outputs"] == {"total": 3, "seen": ["x", "b"], "loop_round": 2}
    finished = runs.events(RUN_ID)[-1]
    assert (finished.type, finished.status) == ("node_finished", "succeeded")
    assert finished.outputs == {"total": 3, "seen": ["x", "b"], "loop_round": 2}
    assert finished.inputs == {"loop_count": 5}


def test_check_finishes_after_loop_count_rounds(local_aws: aws.LocalAws) -> None:
    config = loop_config(loop_count=2, break_conditions=[])
    state = {**UPSTREAM, "loop": call("init", config, UPSTREAM)}
    for _ in range(2):
        state = call("check", config, {**state, "assign": adds(0, "z")}, body=["assign"])

    assert state["loop"]["done"] is True
    assert state["loop"]["outputs"]["loop_round"] == 2


def test_break_conditions_can_read_the_bodys_outputs(local_aws: aws.LocalAws) -> None:
    config = loop_config(
        break_conditions=[
            {
                "variable_selector": ["llm", "text"],
                "comparison_operator": "contains",
                "value": "DONE",
            }
        ]
    )
    state = {
        **UPSTREAM,
        "loop": call("init", config, UPSTREAM),
        "llm": {"outputs": {"text": "DONE!"}},
    }

    assert call("check", config, state, body=["llm"])["loop"]["done"] is True


def test_break_conditions_holding_before_the_first_round_finish_at_init(
    local_aws: aws.LocalAws,
) -> None:
    config = loop_config(
        loop_variables=[
            {"label": "total", "var_type": "number", "value_type": "constant", "value": 7}
        ]
    )

    state = call("init", config, UPSTREAM)

    assert state["done"] is True
    assert state["count"] == 0
    assert state["outputs"] == {"total": 7}
    assert [e.type for e in runs.events(RUN_ID)] == ["node_started", "node_finished"]
    # A compiler that enters the body anyway gets the state back unchanged after it.
    after = call(
        "check", config, {**UPSTREAM, "loop": state, "assign": adds(1, "a")}, body=["assign"]
    )
    assert after == {**UPSTREAM, "loop": state}


def test_a_claim_checked_loop_state_is_read_back(local_aws: aws.LocalAws) -> None:
    event = task_event("loop", "loop", loop_config(), UPSTREAM, action="init")
    event["node"]["inlineLimit"] = 8
    loop_state = handler.handler(event, LAMBDA_CONTEXT)
    assert "ref" in loop_state
    assert payloads.unpack(loop_state) == {"total": 0, "seen": ["x"]}

    event = task_event(
        "loop",
        "loop",
        loop_config(),
        {**UPSTREAM, "loop": loop_state, "assign": adds(5, "q")},
        action="check",
        body=["assign"],
    )
    new_vars = handler.handler(event, LAMBDA_CONTEXT)

    assert payloads.unpack(new_vars["loop"]) == {"total": 5, "seen": ["x", "q"], "loop_round": 1}


def test_init_failure_is_recorded(local_aws: aws.LocalAws) -> None:
    config = loop_config(
        loop_variables=[
            {
                "label": "v",
                "var_type": "string",
                "value_type": "variable",
                "value": ["start", "nope"],
            }
        ]
    )

    with pytest.raises(NodeFailed, match="Invalid value for loop variable v"):
        call("init", config, UPSTREAM)
    assert runs.events(RUN_ID)[-1].status == "failed"


def test_a_loop_end_node_that_ran_ends_the_loop(local_aws: aws.LocalAws) -> None:
    config = loop_config(break_conditions=[])
    state = {**UPSTREAM, "loop": call("init", config, UPSTREAM), "exit": {"outputs": {}}}

    new_vars = call("check", config, state, body=["exit"], ends=["exit"])

    assert new_vars["loop"]["done"] is True
    assert new_vars["loop"]["outputs"]["loop_round"] == 1
