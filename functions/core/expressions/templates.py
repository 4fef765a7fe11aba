"""Variable references inside text: `{{node.field.sub}}` (v1) and `{{#node.field#}}` (Dify).

A reference is a selector: the list of path segments, its first segment a node id or one of
the reserved roots (`trigger`, `sys`, `env`). Values are rendered as Dify renders them:
strings as they are, None as nothing, objects and lists as JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

# Dify's form first so that `{{#a.b#}}` is never read as the v1 form.
_REFERENCE = re.compile(
    r"\{\{#(?P<dify>[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)+)#\}\}"
    r"|\{\{\s*(?P<v1>[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]+)+)\s*\}\}"
)

# Dify's form only: a Dify document's text keeps `{{ a.b }}` literally (Jinja examples in
# prompts, placeholders), as Dify does, so it must not be read as a v1 reference.
_DIFY_REFERENCE = re.compile(r"\{\{#(?P<dify>[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)+)#\}\}")

RESERVED_ROOTS = frozenset({"trigger", "sys", "env"})

Selector = tuple[str, ...]


def references(template: str, *, dify: bool = False) -> list[Selector]:
    return [_selector(match) for match in _pattern(dify).finditer(template)]


def render(template: str, lookup: Callable[[Selector], Any], *, dify: bool = False) -> str:
    return _pattern(dify).sub(lambda match: to_text(lookup(_selector(match))), template)


def single_reference(template: str, *, dify: bool = False) -> Selector | None:
    """The selector when the whole template is exactly one reference (keeps its type)."""
    match = _pattern(dify).fullmatch(template.strip())
    return _selector(match) if match else None


def _pattern(dify: bool) -> re.Pattern[str]:
    return _DIFY_REFERENCE if dify else _REFERENCE


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def dig(value: Any, path: Selector) -> Any:
    """Follow `path` into nested dicts/lists; a missing step gives None."""
    for segment in path:
        if isinstance(value, dict):
            value = value.get(segment)
        elif isinstance(value, list) and (index := _index(segment)) is not None:
            value = value[index] if -len(value) <= index < len(value) else None
        else:
            return None
    return value


def _index(segment: str) -> int | None:
    try:
        return int(segment)
    except ValueError:
        return None


def _selector(match: re.Match[str]) -> Selector:
    return tuple(match["dify"].split(".") if match["dify"] else match["v1"].split("."))
