"""Dify's variable assigner, computed rather than applied.

A Stepcanvas node cannot change another node's state, so the assigner reads each target's
current value through the pool, computes the new one with Dify's rules and outputs
`{"updates": [{"selector": [...], "value": <new value>}, ...]}` (one entry per target,
its final value, in first-assigned order). The loop node's `check` applies the updates
whose selector starts with the loop's id to its loop variables; updates of anything else
(Dify's conversation variables) are not applied by anything yet.

Rules (Dify v2): the target must exist; its type is read from its current value (string,
number, boolean, object, array[string|number|object|boolean], array[any] when empty or
mixed, none when null). Operations per type: over-write and clear on any; set on scalars
and objects; += -= *= /= on numbers; append, extend, remove-first, remove-last on arrays.
A variable input is refused for set and arithmetic; a constant one is accepted only for
over-write/set (and arithmetic on numbers), so Dify's items carry input_type "variable" even
to clear or remove; a variable input that is null skips the item; setting an object from
text parses it as JSON.
Items run in order, each seeing the values the earlier items assigned, as targets and as
variable inputs alike.
"""

from __future__ import annotations

import json
from typing import Any

from functions.core.errors import NodeError
from functions.core.expressions.templates import Selector
from functions.nodes.assigner.entities import AssignerConfig, AssignItem, InputType, Operation
from functions.nodes.entities import NodeContext, NodeResult

ERROR = "VariableOperatorNodeError"
_NO_VALUE = frozenset({Operation.CLEAR, Operation.REMOVE_FIRST, Operation.REMOVE_LAST})
_ARITHMETIC = frozenset({Operation.ADD, Operation.SUBTRACT, Operation.MULTIPLY, Operation.DIVIDE})
_ARRAY_OPERATIONS = frozenset(
    {Operation.APPEND, Operation.EXTEND, Operation.REMOVE_FIRST, Operation.REMOVE_LAST}
)
_SCALARS: dict[str, type | tuple[type, ...]] = {"string": str, "boolean": bool, "object": dict}
_ELEMENTS: dict[str, type | tuple[type, ...]] = {
    "array[any]": (str, float, int, dict),
    "array[string]": str,
    "array[number]": (int, float),
    "array[object]": dict,
    "array[boolean]": bool,
}
# What an item returns when Dify would skip it (its variable input is null).
_SKIP = object()
_EMPTY: dict[str, Any] = {
    "string": "",
    "number": 0,
    "boolean": False,
    "object": {},
    "none": None,
}


def run(config: AssignerConfig, ctx: NodeContext) -> NodeResult:
    assigned: dict[Selector, Any] = {}
    for item in config.items:
        target = tuple(item.variable_selector)
        if target in assigned:
            current = assigned[target]
        elif _exists(ctx, target):
            current = ctx.pool.lookup(target)
        else:
            raise NodeError(f"Variable {list(target)} not found", ERROR)
        new = _assign(item, current, ctx, assigned)
        if new is not _SKIP:
            assigned[target] = new
    updates = [{"selector": list(selector), "value": value} for selector, value in assigned.items()]
    return NodeResult(
        outputs={"updates": updates},
        inputs={"items": [item.model_dump(mode="json") for item in config.items]},
    )


def _assign(item: AssignItem, current: Any, ctx: NodeContext, assigned: dict[Selector, Any]) -> Any:
    kind = value_type(current)
    operation = item.operation
    if not _supported(kind, operation):
        raise NodeError(f"Operation {operation} is not supported for type {kind}", ERROR)
    if item.input_type is InputType.VARIABLE:
        if operation is Operation.SET or operation in _ARITHMETIC:
            raise NodeError(
                f"Input type {item.input_type} is not supported for operation {operation}", ERROR
            )
    elif not _constant_supported(kind, operation):
        raise NodeError(
            f"Input type {item.input_type} is not supported for operation {operation}", ERROR
        )
    value = item.value
    if item.input_type is InputType.VARIABLE and operation not in _NO_VALUE:
        source = tuple(value)
        # An input an earlier item assigned reads as assigned (append n after n += 1).
        value = assigned[source] if source in assigned else ctx.pool.lookup(source)
        if value is None:
            if _exists(ctx, source):
                return _SKIP  # Dify skips an item whose input is null
            raise NodeError(f"Variable {list(source)} not found", ERROR)
    if operation is Operation.SET and kind == "object" and isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise NodeError(f"Invalid input value {value}", ERROR) from exc
    if not _valid_input(kind, operation, value):
        raise NodeError(f"Invalid input value {value}", ERROR)
    return _apply(operation, kind, current, value)


def value_type(value: Any) -> str:  # noqa: PLR0911
    """Dify's segment type of a value (the declared type is not known here)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        for kind, element in (
            ("array[boolean]", bool),
            ("array[number]", (int, float)),
            ("array[string]", str),
            ("array[object]", dict),
        ):
            if value and all(isinstance(v, element) for v in value):
                if kind == "array[number]" and any(isinstance(v, bool) for v in value):
                    continue
                return kind
        return "array[any]"
    return "none"


def _supported(kind: str, operation: Operation) -> bool:
    if operation in (Operation.OVER_WRITE, Operation.CLEAR):
        return True
    if operation is Operation.SET:
        return kind in ("object", "string", "number", "boolean")
    if operation in _ARITHMETIC:
        return kind == "number"
    return kind.startswith("array")


def _constant_supported(kind: str, operation: Operation) -> bool:
    if kind in ("string", "object", "boolean"):
        return operation in (Operation.OVER_WRITE, Operation.SET)
    if kind == "number":
        return operation in (Operation.OVER_WRITE, Operation.SET) or operation in _ARITHMETIC
    if kind == "none":  # null now: its declared type is unknown here
        return operation is Operation.OVER_WRITE
    return False  # Dify takes array values only from variables


def _valid_input(kind: str, operation: Operation, value: Any) -> bool:  # noqa: PLR0911
    if operation in _NO_VALUE or kind == "none":
        return True
    if kind == "number":
        if not isinstance(value, int | float):
            return False
        return not (operation is Operation.DIVIDE and value == 0)
    scalar = _SCALARS.get(kind)
    if scalar is not None:
        return isinstance(value, scalar)
    element = _ELEMENTS.get(kind)
    if element is None:
        return False
    if operation is Operation.APPEND:
        return isinstance(value, element)
    if operation in (Operation.EXTEND, Operation.OVER_WRITE):
        return isinstance(value, list) and all(isinstance(v, element) for v in value)
    return False


def _apply(operation: Operation, kind: str, current: Any, value: Any) -> Any:  # noqa: PLR0911
    match operation:
        case Operation.OVER_WRITE | Operation.SET:
            return value
        case Operation.CLEAR:
            if kind == "number" and isinstance(current, float):
                return 0.0  # Dify keeps a float a float: 0.5 clears to 0.0, 5 to 0
            return [] if kind.startswith("array") else _EMPTY[kind]
        case Operation.APPEND:
            return [*current, value]
        case Operation.EXTEND:
            return [*current, *value]
        case Operation.ADD:
            return current + value
        case Operation.SUBTRACT:
            return current - value
        case Operation.MULTIPLY:
            return current * value
        case Operation.DIVIDE:
            return current / value
        case Operation.REMOVE_FIRST:
            return current[1:]
        case Operation.REMOVE_LAST:
            return current[:-1]


def _exists(ctx: NodeContext, selector: Selector) -> bool:
    """Whether the selector names something, null included (the pool reads both as None)."""
    if ctx.pool.lookup(selector) is not None:
        return True
    parent = ctx.pool.lookup(selector[:-1]) if len(selector) > 1 else None
    return isinstance(parent, dict) and selector[-1] in parent
