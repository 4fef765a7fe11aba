"""Checking run inputs against the start form, with Dify's rules and messages.

The service API can call `prepare_inputs` before it starts a run, to answer 400 as Dify
does; the start node calls it again, so a run started any other way is checked too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from functions.core.errors import NodeError
from functions.nodes.start.entities import InputType, InputVariable

INVALID_INPUT = "InvalidInput"

_TEXT_TYPES = frozenset({InputType.TEXT_INPUT, InputType.PARAGRAPH, InputType.SELECT})
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


class InvalidInput(NodeError):
    def __init__(self, message: str) -> None:
        super().__init__(message, INVALID_INPUT)


def prepare_inputs(variables: Iterable[InputVariable], inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The declared inputs, checked and converted; undeclared ones are dropped (as Dify)."""
    return {field.variable: _prepare(field, inputs.get(field.variable)) for field in variables}


def _prepare(field: InputVariable, value: Any) -> Any:
    if value is None:
        if field.required:
            raise InvalidInput(f"{field.variable} is required in input form")
        value = field.default
        if value is None:
            return None
    if field.type in (InputType.FILE, InputType.FILE_LIST) and not field.required and value == "":
        return None  # Dify's form sends "" for an optional file left empty
    if field.type in _TEXT_TYPES:
        if not isinstance(value, str):
            raise InvalidInput(
                f"(type '{field.type}') {field.variable} in input form must be a string"
            )
        value = value.replace("\x00", "")
    return _BY_TYPE[field.type](field, value)


def _text(field: InputVariable, value: str) -> str:
    if field.max_length and len(value) > field.max_length:
        raise InvalidInput(
            f"{field.variable} in input form must be less than {field.max_length} characters"
        )
    return value


def _select(field: InputVariable, value: str) -> str:
    if value not in field.options:
        raise InvalidInput(
            f"{field.variable} in input form must be one of the following: {field.options}"
        )
    return value


def _file(field: InputVariable, value: Any) -> Any:
    if not isinstance(value, dict):
        raise InvalidInput(f"{field.variable} in input form must be a file")
    return value


def _number(field: InputVariable, value: Any) -> int | float | None:
    name = field.variable
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise InvalidInput(f"{name} in input form must be a valid number")
    if not value.strip():
        return None
    try:
        return float(value) if "." in value else int(value)
    except ValueError:
        raise InvalidInput(f"{name} in input form must be a valid number") from None


def _checkbox(_field: InputVariable, value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    elif isinstance(value, int | float) and not isinstance(value, bool) and value in (0, 1):
        return bool(value)
    return value


def _json_object(field: InputVariable, value: Any) -> Any:
    name = field.variable
    # Dify wants an object; JSON text of an object is accepted too (a form sends text).
    if isinstance(value, str) and value.strip():
        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidInput(f"{name} in input form must be a dict") from None
    if value and not isinstance(value, dict):
        raise InvalidInput(f"{name} in input form must be a dict")
    return value


def _file_list(field: InputVariable, value: Any) -> Any:
    name = field.variable
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise InvalidInput(f"{name} in input form must be a list of files")
    if field.max_length and len(value) > field.max_length:
        raise InvalidInput(f"{name} in input form must be less than {field.max_length} files")
    return value


_BY_TYPE: dict[InputType, Callable[[InputVariable, Any], Any]] = {
    InputType.TEXT_INPUT: _text,
    InputType.PARAGRAPH: _text,
    InputType.SELECT: _select,
    InputType.NUMBER: _number,
    InputType.CHECKBOX: _checkbox,
    InputType.JSON_OBJECT: _json_object,
    InputType.FILE: _file,
    InputType.FILE_LIST: _file_list,
}
