"""Dify's check of a code node's result against its declared outputs.

Rules (Dify's CodeNode._transform_result, with Dify's default limits):

- with a schema, every declared output must be present, and nothing undeclared may be;
  `None` passes for every type; `number` takes int/float (a boolean becomes 0/1), within
  ±(2**63 - 1) and at most 20 decimal places; strings are at most 80,000 characters (NUL
  characters are dropped); arrays of strings/objects hold at most 30 elements, of numbers
  1,000; objects nest at most 5 levels;
- an `object` without `children`, and every nested value of one, is checked by the
  value's own type instead.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from functions.core.errors import NodeError
from functions.nodes.code.entities import OutputSpec

MAX_NUMBER = 9_223_372_036_854_775_807
MIN_NUMBER = -9_223_372_036_854_775_807
MAX_PRECISION = 20
MAX_DEPTH = 5
MAX_STRING_LENGTH = 80_000
MAX_STRING_ARRAY_LENGTH = 30
MAX_OBJECT_ARRAY_LENGTH = 30
MAX_NUMBER_ARRAY_LENGTH = 1_000


def _invalid(message: str) -> NodeError:
    return NodeError(message, "OutputValidationError")


def check_outputs(
    result: dict[str, Any], schema: dict[str, OutputSpec] | None, prefix: str = "", depth: int = 1
) -> dict[str, Any]:
    if depth > MAX_DEPTH:
        raise NodeError(f"Depth limit {MAX_DEPTH} reached, object too deep.", "DepthLimitError")
    if schema is None:
        for name, value in result.items():
            _check_untyped(_path(prefix, name), value, depth)
        return result
    checked: dict[str, Any] = {}
    for name, spec in schema.items():
        path = _path(prefix, name)
        if name not in result:
            raise _invalid(f"Output {path} is missing.")
        checked[name] = _check_typed(path, result[name], spec, depth)
    if len(checked) != len(result):
        extra = ", ".join(sorted(str(k) for k in result if k not in schema))
        raise NodeError(f"Not all output parameters are validated: {extra}.", "CodeNodeError")
    return checked


def _path(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _check_typed(path: str, value: Any, spec: OutputSpec, depth: int) -> Any:  # noqa: PLR0911, PLR0912
    if value is None:
        return None
    match spec.type:
        case "string":
            return _string(path, value)
        case "number":
            return _number(path, value)
        case "boolean":
            if not isinstance(value, bool):
                raise _invalid(f"Output variable `{path}` must be a boolean")
            return value
        case "object":
            if not isinstance(value, dict):
                raise _invalid(f"Output variable `{path}` must be an object")
            return check_outputs(value, spec.children, path, depth + 1)
        case "array[string]":
            items = _array(path, value, MAX_STRING_ARRAY_LENGTH)
            return [None if v is None else _string(f"{path}[{i}]", v) for i, v in enumerate(items)]
        case "array[number]":
            items = _array(path, value, MAX_NUMBER_ARRAY_LENGTH)
            return [None if v is None else _number(f"{path}[{i}]", v) for i, v in enumerate(items)]
        case "array[boolean]":
            for i, item in enumerate(value if isinstance(value, list) else []):
                if item is not None and not isinstance(item, bool):
                    raise _invalid(f"Output variable `{path}[{i}]` must be a boolean")
            return _array(path, value, None)
        case "array[object]":
            items = _array(path, value, MAX_OBJECT_ARRAY_LENGTH)
            checked = []
            for i, item in enumerate(items):
                if item is not None and not isinstance(item, dict):
                    raise _invalid(f"Output variable `{path}[{i}]` must be an object")
                nested = f"{path}[{i}]"
                checked.append(
                    None if item is None else check_outputs(item, spec.children, nested, depth + 1)
                )
            return checked
    raise _invalid(f"Output type {spec.type} is not supported.")


def _array(path: str, value: Any, limit: int | None) -> list[Any]:
    if not isinstance(value, list):
        raise _invalid(f"Output variable `{path}` must be an array")
    if limit is not None and len(value) > limit:
        raise _invalid(
            f"The length of output variable `{path}` must be less than {limit} elements."
        )
    return value


def _string(path: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _invalid(f"Output variable `{path}` must be a string")
    if len(value) > MAX_STRING_LENGTH:
        raise _invalid(
            f"The length of output variable `{path}` must be less than "
            f"{MAX_STRING_LENGTH} characters"
        )
    return value.replace("\x00", "")


def _number(path: str, value: Any) -> int | float:
    if isinstance(value, bool):
        return int(value)  # Dify keeps workflows that return True/False for a number working
    if not isinstance(value, int | float):
        raise _invalid(f"Output variable `{path}` must be a number")
    if value > MAX_NUMBER or value < MIN_NUMBER:
        raise _invalid(
            f"Output variable `{path}` is out of range, "
            f"it must be between {MIN_NUMBER} and {MAX_NUMBER}."
        )
    if isinstance(value, float):
        exponent = Decimal(str(value)).normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > MAX_PRECISION:
            raise _invalid(
                f"Output variable `{path}` has too high precision, "
                f"it must be less than {MAX_PRECISION} digits."
            )
    return value


def _check_untyped(path: str, value: Any, depth: int) -> None:  # noqa: PLR0912
    """An object output without declared children: each value is checked by its own type."""
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, dict):
        check_outputs(value, None, path, depth + 1)
    elif isinstance(value, int | float):
        _number(path, value)
    elif isinstance(value, str):
        _string(path, value)
    elif isinstance(value, list):
        present = [v for v in value if v is not None]
        if not present:
            return
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
            for i, item in enumerate(value):
                if item is not None:
                    _number(f"{path}[{i}]", item)
        elif all(isinstance(v, str) for v in present):
            for i, item in enumerate(value):
                if item is not None:
                    _string(f"{path}[{i}]", item)
        elif all(isinstance(v, dict) for v in present) or all(isinstance(v, list) for v in present):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    check_outputs(item, None, f"{path}[{i}]", depth + 1)
                elif isinstance(item, list):
                    _check_untyped(f"{path}[{i}]", item, depth + 1)
        elif not all(isinstance(v, bool) for v in present):
            raise _invalid(
                f"Output {path} is not a valid array. make sure all elements are of the same type."
            )
    else:
        raise _invalid(f"Output {path} is not a valid type.")
