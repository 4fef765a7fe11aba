"""Dify's structured conditions, as used by the if-else node and the loop node's break check.

A condition is a dict in Dify's DSL shape::

    {"variable_selector": ["start", "age"], "comparison_operator": "≥", "value": "18"}

Semantics follow Dify's engine (api/core/workflow/utils/condition/processor.py):

- a string `value` is a template (`{{#node.var#}}` is rendered) before comparing;
- text operators (`contains`, `start with`, `is` …) need text (or a list for `contains`);
  numeric operators (`=`, `>` …) need a number and convert `value` to the actual's type;
  using one on the wrong type is an error (ConditionError), as in Dify;
- `empty`/`not empty` test truthiness, `null`/`exists` test None;
- when the actual value is a boolean, `value` "true"/"false"/1/0 is read as a boolean;
- on an array of files, `contains`/`not contains`/`all of` apply the condition's
  `sub_variable_condition` to the files' attributes.

One deliberate difference: a selector that names nothing reads as None (Dify raises
"Variable not found"); None already fails every comparison except the ones that ask for it.
"""

from __future__ import annotations

import json
import operator as operator_module
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from functions.core.expressions.templates import Selector, references, render

Lookup = Callable[[Selector], Any]

_FILE_OPERATORS = frozenset({"contains", "not contains", "all of"})


class ConditionError(ValueError):
    """A condition that cannot be evaluated (wrong value type, unknown operator)."""


class Condition(BaseModel):
    """One condition as a node config holds it; validated at save time, evaluated as
    `evaluate_condition(condition.model_dump(), lookup)`."""

    model_config = ConfigDict(extra="allow")

    variable_selector: list[str] = Field(min_length=1)
    comparison_operator: str
    value: Any = None
    varType: str | None = None  # Dify's field name
    sub_variable_condition: dict[str, Any] | None = None

    @field_validator("comparison_operator")
    @classmethod
    def _known(cls, operator: str) -> str:
        if operator not in _CHECKS:
            raise ValueError(
                f"unknown comparison operator {operator!r}; expected one of {sorted(_CHECKS)}"
            )
        return operator


def evaluate_all(
    conditions: Iterable[Mapping[str, Any]], logical_operator: str, lookup: Lookup
) -> bool:
    """All (`and`) or any (`or`) of `conditions`, short-circuiting like Dify."""
    if logical_operator not in ("and", "or"):
        raise ConditionError(f"logical_operator must be 'and' or 'or', not {logical_operator!r}")
    results = (evaluate_condition(condition, lookup) for condition in conditions)
    return all(results) if logical_operator == "and" else any(results)


def evaluate_condition(condition: Mapping[str, Any], lookup: Lookup) -> bool:
    operator = str(condition.get("comparison_operator"))
    if operator not in _CHECKS:
        raise ConditionError(f"unsupported comparison operator {operator!r}")
    actual = lookup(tuple(condition.get("variable_selector") or ()))
    sub_condition = condition.get("sub_variable_condition")
    if operator in _FILE_OPERATORS and _is_file_list(actual) and sub_condition:
        return _evaluate_files(actual, sub_condition)
    expected = condition.get("value")
    if isinstance(expected, str):
        expected = render(expected, lookup, dify=True)
    if isinstance(actual, bool) and expected is not None:
        expected = (
            [_to_bool(v) for v in expected] if isinstance(expected, list) else _to_bool(expected)
        )
    return compare(actual, operator, expected)


def references_of(conditions: Iterable[Mapping[str, Any]]) -> list[Selector]:
    """Every selector the conditions read: the compared variables and templates in values."""
    found: list[Selector] = []
    for condition in conditions:
        selector = condition.get("variable_selector")
        if selector:
            found.append(tuple(str(part) for part in selector))
        value = condition.get("value")
        if isinstance(value, str):
            found.extend(references(value, dify=True))
    return found


def compare(actual: Any, operator: str, expected: Any) -> bool:
    """One Dify comparison of an already-resolved `actual` against `expected`."""
    check = _CHECKS.get(operator)
    if check is None:
        raise ConditionError(f"unsupported comparison operator {operator!r}")
    return check(actual, expected)


def _contains(actual: Any, expected: Any) -> bool:
    if not actual:
        return False
    if not isinstance(actual, str | list):
        raise ConditionError(f"'contains' needs text or an array, not {_kind(actual)}")
    if isinstance(actual, str):
        return str(expected if expected is not None else "") in actual
    return expected in actual


def _numeric(operator: str) -> Callable[[Any, Any], bool]:
    holds = _NUMERIC[operator]

    def check(actual: Any, expected: Any) -> bool:
        if actual is None:
            return False
        if isinstance(actual, bool) and operator in ("=", "≠"):
            return holds(actual, _to_bool(expected))
        if not isinstance(actual, int | float) or isinstance(actual, bool):
            raise ConditionError(f"'{operator}' needs a number, not {_kind(actual)}")
        return holds(actual, _to_number(expected, operator))

    return check


_NUMERIC: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator_module.eq,
    "≠": operator_module.ne,
    ">": operator_module.gt,
    "<": operator_module.lt,
    "≥": operator_module.ge,
    "≤": operator_module.le,
}

_CHECKS: dict[str, Callable[[Any, Any], bool]] = {
    "contains": _contains,
    "not contains": lambda a, e: not a or not _contains(a, e),
    "start with": lambda a, e: bool(a) and _text(a, "start with").startswith(_str(e)),
    "end with": lambda a, e: bool(a) and _text(a, "end with").endswith(_str(e)),
    "is": lambda a, e: a is not None and _text_or_bool(a, "is") == e,
    "is not": lambda a, e: a is not None and _text_or_bool(a, "is not") != e,
    "empty": lambda a, _: not a,
    "not empty": lambda a, _: bool(a),
    "null": lambda a, _: a is None,
    "not exists": lambda a, _: a is None,
    "not null": lambda a, _: a is not None,
    "exists": lambda a, _: a is not None,
    "in": lambda a, e: bool(a) and a in _list(e, "in"),
    "not in": lambda a, e: not a or a not in _list(e, "not in"),
    "all of": lambda a, e: bool(a) and all(item in a for item in _list(e, "all of")),
    **{op: _numeric(op) for op in _NUMERIC},
}

OPERATORS = frozenset(_CHECKS)


def _to_number(value: Any, operator: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    try:
        return float(str(value).strip())
    except ValueError:
        message = f"'{operator}' needs a number to compare with, not {value!r}"
        raise ConditionError(message) from None


def _to_bool(value: Any) -> bool:
    """Dify stores boolean comparison values as text ("true", "1"); read them back."""
    if isinstance(value, bool | int):
        return bool(value)
    if isinstance(value, str):
        try:
            loaded = json.loads(value.strip().lower())
        except ValueError:
            loaded = None
        if isinstance(loaded, bool | int):
            return bool(loaded)
    raise ConditionError(f"expected a boolean value, not {value!r}")


def _text(actual: Any, operator: str) -> str:
    if not isinstance(actual, str):
        raise ConditionError(f"'{operator}' needs text, not {_kind(actual)}")
    return actual


def _text_or_bool(actual: Any, operator: str) -> str | bool:
    if not isinstance(actual, str | bool):
        raise ConditionError(f"'{operator}' needs text or a boolean, not {_kind(actual)}")
    return actual


def _str(expected: Any) -> str:
    return "" if expected is None else str(expected)


def _list(expected: Any, operator: str) -> Sequence[Any]:
    if not isinstance(expected, list):
        raise ConditionError(f"'{operator}' needs an array of values to compare with")
    return expected


def _is_file_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(_is_file(item) for item in value)


def _is_file(value: Any) -> bool:
    return isinstance(value, dict) and value.get("dify_model_identity") == "__dify__file__"


def _evaluate_files(files: list[dict[str, Any]], sub_condition: Mapping[str, Any]) -> bool:
    """Dify's sub-conditions on file attributes: each must hold for any file (or, for a
    negative operator, for every file)."""
    results = []
    for condition in sub_condition.get("conditions") or ():
        key = str(condition.get("key", ""))
        operator = str(condition.get("comparison_operator", ""))
        expected = condition.get("value")
        values = [_file_attribute(file, key) for file in files]
        if key == "extension":
            expected = _dotted(expected)
            values = [_dotted(value) for value in values]
        outcomes = [compare(value, operator, expected) for value in values]
        results.append(all(outcomes) if "not" in operator else any(outcomes))
    if sub_condition.get("logical_operator", "and") == "or":
        return any(results)
    return all(results)


def _file_attribute(file: Mapping[str, Any], key: str) -> Any:
    if key == "name":
        return file.get("filename")
    if key == "url":
        return file.get("remote_url") or file.get("url")
    return file.get(key)


def _dotted(extension: Any) -> Any:
    if isinstance(extension, str) and extension and not extension.startswith("."):
        return "." + extension
    return extension


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "text"
    return type(value).__name__
