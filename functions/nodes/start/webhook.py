"""A start imported from Dify's trigger-webhook: the request's declared fields, typed.

`trigger.data` is the request as the webhook route hands it on: {method, headers (names
lower-cased), query, body (parsed JSON, form fields, or {"raw": text})}. The outputs are
what Dify's trigger-webhook node gives downstream nodes:

- each declared header by its name with '-' as '_' (`X-Token` -> `X_Token`), as text;
- each declared query parameter and body field by its name, None when absent;
- `_webhook_raw`: {method, headers, query_params, body, files}, the whole request with
  the declared values converted.

Values are typed as Dify's webhook service types them: query parameters and form fields
are text converted to the declared type (number: int when integral, else float; boolean:
true/false/1/0/yes/no); JSON values must already have it (a number is not a boolean);
a text/plain body gives every declared field the whole text. A required field that is
missing fails the node, naming it, with Dify's message; the webhook route refuses such a
request before it is queued, so this guards runs started any other way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from functions.nodes.start.entities import StartConfig, WebhookField
from functions.nodes.start.inputs import InvalidInput

# The output holding the whole request (Dify's name; dify_triggers.RAW_OUTPUT).
RAW_OUTPUT = "_webhook_raw"
_TEXT = "text/plain"
_FORMS = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def webhook_outputs(config: StartConfig, data: Mapping[str, Any]) -> dict[str, Any]:
    headers = _mapping(data.get("headers"))
    query = _mapping(data.get("query"))
    body = data.get("body")
    outputs: dict[str, Any] = {}
    for header in config.headers:
        value = _header(headers, header.name)
        if value is None and header.required:
            raise InvalidInput(f"Required header missing: {header.name}")
        outputs[header.name.replace("-", "_")] = value
    for param in config.params:
        if _absent(query, param.name):
            if param.required:
                raise InvalidInput(f"Required parameter missing: {param.name}")
            outputs[param.name] = None
            continue
        query[param.name] = outputs[param.name] = _typed(param, query[param.name], text=True)
    if config.content_type == _TEXT:
        body = _text_body(config, body, outputs)
    else:
        body = _body(config, body, outputs)
    outputs[RAW_OUTPUT] = {
        "method": data.get("method"),
        "headers": headers,
        "query_params": query,
        "body": body,
        "files": {},
    }
    return outputs


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _absent(values: Mapping[str, Any], name: str) -> bool:
    # A JSON null counts as absent (Dify would refuse it as the wrong type).
    return values.get(name) is None


def _header(headers: Mapping[str, Any], name: str) -> Any:
    """A header by name, any case, '-' and '_' alike (as Dify's node looks it up)."""
    lower = name.lower()
    alternate = lower.replace("-", "_") if "-" in lower else lower.replace("_", "-")
    for candidate in (name, lower, alternate):
        if candidate in headers:
            return headers[candidate]
    return None


def _text_body(config: StartConfig, body: Any, outputs: dict[str, Any]) -> Any:
    raw = body.get("raw") if isinstance(body, Mapping) else None
    if any(field.required for field in config.body) and not raw:
        raise InvalidInput(f"Required body content missing for {_TEXT} request")
    for field in config.body:
        outputs[field.name] = "" if raw is None else str(raw)
    return body if isinstance(body, Mapping) else {"raw": raw}


def _body(config: StartConfig, body: Any, outputs: dict[str, Any]) -> Any:
    fields = dict(body) if isinstance(body, Mapping) else {}
    text = config.content_type in _FORMS
    for field in config.body:
        if _absent(fields, field.name):
            if field.required:
                raise InvalidInput(f"Required body parameter missing: {field.name}")
            outputs[field.name] = None
            continue
        fields[field.name] = outputs[field.name] = _typed(field, fields[field.name], text=text)
    return fields if isinstance(body, Mapping) else body


def _typed(field: WebhookField, value: Any, *, text: bool) -> Any:
    """The value as its declared type; InvalidInput with Dify's message when it is not."""
    try:
        return (
            _converted(field, value) if text and isinstance(value, str) else _checked(field, value)
        )
    except ValueError as exc:
        raise InvalidInput(f"Parameter '{field.name}' validation failed: {exc}") from None


def _converted(field: WebhookField, value: str) -> Any:
    """Text (a query parameter, a form field) as the declared type."""
    match field.type:
        case "string":
            return value
        case "number":
            try:
                number = float(value)
            except ValueError:
                number = math.nan
            if not math.isfinite(number):
                raise ValueError(f"Cannot convert '{value}' to number")
            return int(number) if number.is_integer() else number
        case "boolean":
            if value.lower() not in _BOOLEANS:
                raise ValueError(f"Cannot convert '{value}' to boolean")
            return _BOOLEANS[value.lower()]
        case _:
            raise ValueError(
                f"Unsupported type '{field.type}' for form data parameter '{field.name}'"
            )


def _checked(field: WebhookField, value: Any) -> Any:
    """A JSON value, which must already be of the declared type."""
    kind = field.type
    if kind == "file":
        return value
    if kind.startswith("array["):
        element = kind[len("array[") : -1]
        if isinstance(value, list) and all(_is(element, item) for item in value):
            return value
        expected = f"array of {element}s"
    elif _is(kind, value):
        return value
    else:
        expected = kind
    raise ValueError(f"Expected {expected}, got {type(value).__name__}")


def _is(kind: str, value: Any) -> bool:
    match kind:
        case "string":
            return isinstance(value, str)
        case "number":
            return isinstance(value, int | float) and not isinstance(value, bool)
        case "boolean":
            return isinstance(value, bool)
        case "object":
            return isinstance(value, dict)
        case _:
            return False
