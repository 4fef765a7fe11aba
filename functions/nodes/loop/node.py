"""The loop node's tasks around its body (statemachines/compiler/containers.py `loop`).

`init` (before the first round) and `check` (after each round) return the loop's state
for `$.vars.<loop>`: its variables as the loop's outputs (claim-checked like any outputs,
so the body reads `[loop id, label]` through the pool), plus `done`, `count` (rounds run)
and `startedAt`. `check` returns the whole new `vars`: the body's states removed, so the
next round's guards start fresh.

Dify's semantics: the break conditions are tested before the first round too (holding
there, the body never runs) and after every round, once the round's assignments are
applied; a condition that cannot be evaluated counts as not holding. A loop-end node that
ran (`ends`) ends the loop after its round; so does the `loop_count`-th round. The loop's
outputs are its variables and `loop_round`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from functions.core import payloads
from functions.core.errors import NodeError
from functions.core.expressions import dify_conditions
from functions.core.expressions.dify_conditions import Lookup
from functions.core.model.task import TaskInput
from functions.core.model.workflow import state_key
from functions.core.variables import VariablePool
from functions.nodes import runtime
from functions.nodes.entities import NodeContext, NodeResult
from functions.nodes.loop.entities import LoopConfig, LoopVariable

ERROR = "LoopNodeError"
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
}


def init(task: TaskInput, config: LoopConfig) -> dict[str, Any]:
    step = runtime.start(task)
    try:
        variables = initial_variables(config, runtime.context(task))
        done = breaks(config, _pool(task, task.vars, variables).lookup)
    except Exception as exc:
        raise runtime.fail(task, step, exc) from exc
    return _state(task, config, step, variables, count=0, done=done)


def check(
    task: TaskInput, config: LoopConfig, body: list[str], ends: list[str] | None = None
) -> dict[str, Any]:
    """`ends`: state keys of the body's loop-end nodes (Dify's "exit loop"); one that ran
    ends the loop after this round."""
    key = state_key(task.node.id)
    loop = task.vars.get(key)
    if not isinstance(loop, dict) or "startedAt" not in loop:
        raise NodeError(f"loop '{task.node.id}' has no state to check; did its init run?", ERROR)
    step = runtime.Step(startedAt=loop["startedAt"])
    finished = set(body)
    remaining = {k: v for k, v in task.vars.items() if k not in finished}
    if loop.get("done"):
        # Finished by `init` (the body was not to run): keep the state as init left it.
        return remaining
    try:
        variables = dict(payloads.unpack(loop) or {})
        apply_updates(task.node.id, variables, (task.vars.get(k) for k in body))
        count = int(loop.get("count", 0)) + 1
        ended = any(key in task.vars for key in ends or ())
        done = (
            ended
            or count >= config.loop_count
            or breaks(config, _pool(task, task.vars, variables).lookup)
        )
    except Exception as exc:
        raise runtime.fail(task, step, exc) from exc
    remaining[key] = _state(task, config, step, variables, count=count, done=done)
    return remaining


def initial_variables(config: LoopConfig, ctx: NodeContext) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for variable in config.loop_variables:
        if variable.value_type == "variable":
            selector = variable.value
            value = ctx.pool.lookup(tuple(selector)) if isinstance(selector, list) else None
            if value is None:
                raise NodeError(f"Invalid value for loop variable {variable.label}", ERROR)
        else:
            value = _constant(variable)
        values[variable.label] = value
    return values


def breaks(config: LoopConfig, lookup: Lookup) -> bool:
    """Whether the break conditions hold (none configured: never)."""
    if not config.break_conditions:
        return False
    try:
        return dify_conditions.evaluate_all(
            config.break_conditions, config.logical_operator, lookup
        )
    except ValueError:
        return False  # Dify logs the failed evaluation and keeps looping


def apply_updates(
    loop_id: str, variables: dict[str, Any], states: Iterable[dict[str, Any] | None]
) -> None:
    """Apply the assigner outputs (`{"updates": [{selector, value}]}`) among `states`, in
    order, whose selector is `[loop_id, <one of the loop's variables>]`."""
    for state in states:
        outputs = payloads.unpack(state) if isinstance(state, dict) else None
        updates = outputs.get("updates") if isinstance(outputs, dict) else None
        if not isinstance(updates, list):
            continue
        for update in updates:
            if not isinstance(update, dict) or set(update) != {"selector", "value"}:
                continue
            selector = update["selector"]
            if (
                isinstance(selector, list)
                and len(selector) == 2
                and selector[0] == loop_id
                and selector[1] in variables
            ):
                variables[selector[1]] = update["value"]


def _state(
    task: TaskInput,
    config: LoopConfig,
    step: runtime.Step,
    variables: dict[str, Any],
    *,
    count: int,
    done: bool,
) -> dict[str, Any]:
    if done:
        outputs = {**variables, "loop_round": count} if count else dict(variables)
        result = NodeResult(outputs=outputs, inputs={"loop_count": config.loop_count})
        state = runtime.finish(task, step, result)
    else:
        state = payloads.pack(task.run.runId, task.node.id, variables, task.node.inlineLimit)
    return {**state, "done": done, "count": count, "startedAt": step.startedAt}


def _pool(task: TaskInput, states: dict[str, Any], variables: dict[str, Any]) -> VariablePool:
    """The pool the break conditions see: this round's states, the loop's new variables."""
    probe = {**states, state_key(task.node.id): {"outputs": variables}}
    return VariablePool(node_states=probe, trigger=task.trigger, system=task.sys)


def _constant(variable: LoopVariable) -> Any:
    """A constant initial value as Dify reads it: array values come as JSON text (a list
    is taken as it is); a value of the wrong type is read as JSON text once more."""
    value = variable.value
    kind = variable.var_type
    if kind.startswith("array") and kind != "array[boolean]":
        if isinstance(value, str) and value:
            value = _json(variable, value)
        elif not isinstance(value, list):
            value = []
    if _fits(kind, value):
        return value
    if isinstance(variable.value, str):
        value = _json(variable, variable.value)
        if _fits(kind, value):
            return value
    raise NodeError(
        f"Invalid value for loop variable {variable.label}: expected {kind}, "
        f"got {json.dumps(variable.value, ensure_ascii=False)}",
        ERROR,
    )


def _json(variable: LoopVariable, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise NodeError(
            f"Invalid value for loop variable {variable.label}: {text!r} is not valid JSON", ERROR
        ) from exc


def _fits(kind: str, value: Any) -> bool:
    if kind.startswith("array["):
        element = kind[len("array[") : -1]
        return isinstance(value, list) and all(_fits(element, v) for v in value)
    if isinstance(value, bool) and kind != "boolean":
        return False
    return isinstance(value, _TYPES[kind])
