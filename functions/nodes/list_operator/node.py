"""Dify's list operator over a plain JSON array.

Steps, in Dify's order, each only when enabled: filter (every condition in turn, so they
combine with AND) -> extract (the element at a 1-based `serial`) -> order -> limit (the
first `size` elements; like Dify, `size` -1 drops the last one). Outputs: `result`,
`first_record`, `last_record`. A missing or null variable fails the node; an empty array
gives an empty result.

The array's kind decides the conditions: strings (contains, not contains, start with,
end with, is, is not, in, not in, empty, not empty; `in` means "is a substring of the
value", as Dify reads a text value), numbers (=, ≠, <, ≤, >, ≥), booleans (is, is not)
or objects (files: the condition's `key` picks the attribute: name, extension, mime_type,
url, type, transfer_method, size; other keys read the object's own field). Number and
boolean comparisons are Dify's (functions/core/expressions/dify_conditions.py); string and
number values are templates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from functions.core.errors import NodeError
from functions.core.expressions import dify_conditions
from functions.nodes.entities import NodeContext, NodeResult
from functions.nodes.list_operator.entities import FilterCondition, ListOperatorConfig

ERROR = "ListOperatorError"
# Dify's list operator compares strings plainly (not as if-else does: there an empty
# value contains nothing); `in` means "is a substring of the value".
_STRING_FILTERS: dict[str, Callable[[str, str], bool]] = {
    "contains": lambda item, value: value in item,
    "not contains": lambda item, value: value not in item,
    "start with": lambda item, value: item.startswith(value),
    "end with": lambda item, value: item.endswith(value),
    "is": lambda item, value: item == value,
    "is not": lambda item, value: item != value,
    "in": lambda item, value: item in value,
    "not in": lambda item, value: item not in value,
    "empty": lambda item, _: not item,
    "not empty": lambda item, _: bool(item),
}
_NUMBER_OPERATORS = frozenset({"=", "≠", "<", "≤", ">", "≥"})
_BOOLEAN_OPERATORS = frozenset({"is", "is not"})


def run(config: ListOperatorConfig, ctx: NodeContext) -> NodeResult:
    selector = tuple(config.variable)
    items = ctx.pool.lookup(selector)
    if items is None:
        raise NodeError(f"Variable not found for selector: {list(selector)}", ERROR)
    if not isinstance(items, list):
        raise NodeError(
            f"Variable {list(selector)} is not an array type, actual type: {type(items).__name__}",
            ERROR,
        )
    inputs = {"variable": items}
    if not items:
        return NodeResult(
            outputs={"result": [], "first_record": None, "last_record": None}, inputs=inputs
        )
    kind = _kind(items, selector)
    if config.filter_by.enabled:
        for condition in config.filter_by.conditions:
            items = [item for item in items if _holds(kind, item, condition, ctx)]
    if config.extract_by.enabled:
        items = [_extract(items, ctx.render(config.extract_by.serial, dify=True))]
    if config.order_by.enabled:
        items = _order(kind, items, config.order_by.key, config.order_by.value == "desc")
    if config.limit.enabled:
        items = items[: config.limit.size]
    return NodeResult(
        outputs={
            "result": items,
            "first_record": items[0] if items else None,
            "last_record": items[-1] if items else None,
        },
        inputs=inputs,
    )


def _kind(items: list[Any], selector: tuple[str, ...]) -> str:
    if all(isinstance(i, bool) for i in items):
        return "boolean"
    if all(isinstance(i, int | float) and not isinstance(i, bool) for i in items):
        return "number"
    if all(isinstance(i, str) for i in items):
        return "string"
    if all(isinstance(i, dict) for i in items):
        return "object"
    raise NodeError(
        f"Variable {list(selector)} is not an array of strings, numbers, booleans or files "
        "(its elements must all be of one type)",
        ERROR,
    )


def _holds(kind: str, item: Any, condition: FilterCondition, ctx: NodeContext) -> bool:
    operator, value = condition.comparison_operator, condition.value
    if kind == "object":
        # A file (object): the condition applies to one attribute, by that attribute's type.
        item = _field(item, condition.key)
        if isinstance(value, list):  # `type` / `transfer_method` in a list of values
            _check(operator, frozenset({"in", "not in"}), "a list of values")
            return (item in value) == (operator == "in")
        if isinstance(item, bool):
            kind = "boolean"
        elif isinstance(item, int | float):
            kind = "number"
        else:
            kind, item = "string", "" if item is None else str(item)
    if kind == "boolean":
        _check(operator, _BOOLEAN_OPERATORS, "boolean")
        if not isinstance(value, bool):
            raise NodeError(
                f"Boolean filter expects a boolean value, got {type(value).__name__}",
                "InvalidFilterValueError",
            )
        return dify_conditions.compare(item, operator, value)
    if not isinstance(value, str):
        raise NodeError(f"Invalid filter value: {value}", "InvalidFilterValueError")
    text = ctx.render(value, dify=True)
    if kind == "number":
        _check(operator, _NUMBER_OPERATORS, "number")
        try:
            number = float(text)
        except ValueError as exc:
            raise NodeError(f"Invalid filter value: {text!r} is not a number", ERROR) from exc
        return dify_conditions.compare(item, operator, number)
    _check(operator, frozenset(_STRING_FILTERS), "string")
    return _STRING_FILTERS[operator](item, text)


def _field(item: dict[str, Any], key: str) -> Any:
    if not key:
        raise NodeError("Invalid key: a filter on an array of objects needs a key", ERROR)
    if key == "name":
        return item.get("filename", item.get("name"))
    if key == "url":
        return item.get("remote_url") or item.get("url")
    return item.get(key)


def _check(operator: str, allowed: frozenset[str], kind: str) -> None:
    if operator not in allowed:
        raise NodeError(
            f"Invalid condition: {operator} (on {kind} values)", "InvalidConditionError"
        )


def _extract(items: list[Any], serial: str) -> Any:
    try:
        index = int(serial.strip())
    except ValueError as exc:
        raise NodeError(f"Invalid serial index: {serial!r} is not a number", ERROR) from exc
    if index < 1:
        raise NodeError(f"Invalid serial index: must be >= 1, got {index}", ERROR)
    if index > len(items):
        raise NodeError(f"Invalid serial index: must be <= {len(items)}, got {index}", ERROR)
    return items[index - 1]


def _order(kind: str, items: list[Any], key: str, descending: bool) -> list[Any]:
    if kind != "object":
        return sorted(items, reverse=descending)
    if not key:
        raise NodeError("Invalid order key: an array of objects is ordered by a key", ERROR)
    values = [_field(item, key) for item in items]
    numeric = all(isinstance(v, int | float) for v in values if v is not None)
    # Missing attributes sort as Dify's empty defaults ("" or 0).
    blank: Any = 0 if numeric else ""
    pairs = sorted(
        zip(values, range(len(items)), strict=True),
        key=lambda pair: blank if pair[0] is None else pair[0] if numeric else str(pair[0]),
        reverse=descending,
    )
    return [items[index] for _, index in pairs]
