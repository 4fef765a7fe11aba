"""Dify's parameter extractor: ask the model for a JSON object of the parameters, then
check and normalise it the way Dify does.

Outputs: every parameter (missing or invalid ones as Dify's empty defaults: "", 0,
false, []), `__is_success` (1/0), `__reason` (why not, else None) and `__usage`. A reply
that is not usable is not a node failure (`__is_success` is 0), as in Dify; a model
that cannot be called is.

Checks, in Dify's order (the first failing one is the reason): as many values as
parameters; each required one present; a value with `options` one of them; numbers,
booleans, strings and arrays of the declared type.

The model is always asked for JSON text: Dify's `reasoning_mode` "function_call" is run
as its "prompt" mode (the providers have no tool calls); `memory` and `vision` are not
used. With the `local` provider the reply is computed from the query (see `local_reply`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from functions.core.expressions.templates import to_text
from functions.nodes.entities import NodeContext, NodeResult
from functions.nodes.parameter_extractor.entities import Parameter, ParameterExtractorConfig
from functions.nodes.parameter_extractor.llm_json import ask, find_json_object

SYSTEM = (
    "You extract structured data from text. Answer with exactly one JSON object and "
    "nothing else: its keys are the properties of the JSON schema you are given, its "
    "values taken from the text. Leave out a property the text does not provide."
)
NO_JSON = "Failed to extract result from function call or text response, using empty result."
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_TRUE = frozenset({"true", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "no", "n", "0", "off"})
_DEFAULTS: dict[str, Any] = {"string": "", "number": 0, "boolean": False}


def run(config: ParameterExtractorConfig, ctx: NodeContext) -> NodeResult:
    query = to_text(ctx.pool.lookup(tuple(config.query)))
    instruction = ctx.render(config.instruction, dify=True)
    schema = json.dumps(config.json_schema(), ensure_ascii=False)
    prompt = (
        f"### Instructions\n{instruction or '(none)'}\n\n"
        f"### JSON schema of the answer\n{schema}\n\n"
        f"### Text\n<text>\n{query}\n</text>"
    )
    local = json.dumps(local_reply(config.parameters, query), ensure_ascii=False)
    answer = ask(config.model, ctx, system=SYSTEM, text=prompt, local_reply=local)
    reply = find_json_object(answer.text)
    reason: str | None = None
    if reply is None:
        reply = {p.name: _DEFAULTS[p.type] for p in config.parameters if p.type in _DEFAULTS}
        reason = NO_JSON
    reason = _invalid(config.parameters, reply) or reason
    usage = answer.usage.as_dict()
    return NodeResult(
        outputs={
            "__is_success": 0 if reason else 1,
            "__reason": reason,
            "__usage": usage,
            **_normalise(config.parameters, reply),
        },
        inputs={
            "query": query,
            "instruction": instruction,
            "parameters": [p.model_dump() for p in config.parameters],
            "model": answer.model,
            "provider": answer.provider,
            "reply": answer.text,
        },
        tokens=answer.usage.total_tokens,
    )


def _invalid(parameters: list[Parameter], reply: dict[str, Any]) -> str | None:  # noqa: PLR0911
    """Dify's check of the reply: the first problem, or None."""
    if len(parameters) != len(reply):
        return "Invalid number of parameters"
    for p in parameters:
        value = reply.get(p.name)
        if p.required and p.name not in reply:
            return f"Parameter {p.name} is required"
        if p.options and p.type == "string" and value not in p.options:
            return f"Invalid `select` value for parameter {p.name}"
        if p.type == "number" and not _is_number(value):
            return f"Invalid `number` value for parameter {p.name}"
        if p.type == "boolean" and not isinstance(value, bool):
            return f"Invalid `bool` value for parameter {p.name}"
        if p.type == "string" and not isinstance(value, str):
            return f"Invalid `string` value for parameter {p.name}"
        if p.element_type is not None:
            if not isinstance(value, list):
                return f"Invalid `array` value for parameter {p.name}"
            if not all(_is_element(p.element_type, v) for v in value):
                return f"Invalid `{p.type}` value for parameter {p.name}"
    return None


def _normalise(parameters: list[Parameter], reply: dict[str, Any]) -> dict[str, Any]:
    """Every parameter, its value when it has the right type (a number may come as text),
    else Dify's default for the type."""
    values: dict[str, Any] = {}
    for p in parameters:
        value = reply.get(p.name)
        element = p.element_type
        if element is not None:
            items = value if isinstance(value, list) else []
            kept = [_element(element, v) for v in items]
            values[p.name] = [v for v in kept if v is not None]
            continue
        normal = _element(p.type, value)
        values[p.name] = _DEFAULTS[p.type] if normal is None else normal
    return values


def _element(kind: str, value: Any) -> Any:
    if kind == "number":
        if _is_number(value):
            return value
        if isinstance(value, str):
            return _parse_number(value)
        return None
    return value if _is_element(kind, value) else None


def _is_element(kind: str, value: Any) -> bool:
    if kind == "number":
        return _is_number(value)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    return isinstance(value, dict)  # object


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_number(text: str) -> int | float | None:
    text = text.strip()
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        return None


# -- the local provider's answer ---------------------------------------------------------


def local_reply(parameters: list[Parameter], text: str) -> dict[str, Any]:
    """What the deterministic `local` provider answers, per parameter (in order):

    1. an explicit `name: value` or `name = value` in the text (the name matched without
       regard to case; the value runs to the end of the line or a `;`, and for a single
       value also to a `,`), read as the parameter's type (JSON first, else text; arrays
       split on commas; booleans from true/false/yes/no/1/0);
    2. otherwise, by type: a number takes the first number in the text, an array of
       numbers every number, a string with options the first option the text mentions;
    3. otherwise the parameter is left out (so the node reports it as missing).
    """
    found: dict[str, Any] = {}
    for p in parameters:
        explicit = _explicit(p, text)
        value = _read(p, explicit) if explicit is not None else _guess(p, text)
        if value is not None:
            found[p.name] = value
    return found


def _explicit(p: Parameter, text: str) -> str | None:
    stop = ";\n" if p.element_type is not None else ";,\n"
    pattern = rf"(?<![\w-]){re.escape(p.name)}\s*[:=：]\s*([^{stop}]*)"
    match = re.search(pattern, text, re.IGNORECASE)
    return match.group(1).strip() if match else None


def _read(p: Parameter, raw: str) -> Any:
    try:
        loaded: Any = json.loads(raw)
    except ValueError:
        loaded = None
    element = p.element_type
    if element is not None:
        items = loaded if isinstance(loaded, list) else [s.strip() for s in raw.split(",")]
        values = [_scalar(element, v) for v in items if v != ""]
        return [v for v in values if v is not None]
    return _scalar(p.type, loaded if loaded is not None else raw)


def _scalar(kind: str, value: Any) -> Any:
    if kind == "number":
        if _is_number(value):
            return value
        match = _NUMBER.search(str(value))
        return _parse_number(match.group()) if match else None
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        return True if word in _TRUE else False if word in _FALSE else None
    if kind == "object":
        return value if isinstance(value, dict) else None
    return value.strip().strip("\"'") if isinstance(value, str) else json.dumps(value)


def _guess(p: Parameter, text: str) -> Any:
    if p.type == "number":
        match = _NUMBER.search(text)
        return _parse_number(match.group()) if match else None
    if p.type == "array[number]":
        numbers = [_parse_number(m) for m in _NUMBER.findall(text)]
        return [n for n in numbers if n is not None] or None
    if p.type == "string" and p.options:
        lowered = text.lower()
        return next((o for o in p.options if o.lower() in lowered), None)
    return None
