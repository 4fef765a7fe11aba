"""How deeply a caller's document may nest: one limit for every document that comes in.

Parsers (json, pydantic, PyYAML) and the engine's own walkers (template and selector
scanning of node configs, …) recurse once per level, so a document nested a few hundred
levels deep would exhaust the interpreter's stack somewhere far from where it came in.
Documents are refused where they are parsed instead, by checks that do not recurse.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Levels of arrays and objects; real workflows, run inputs and events stay far below.
MAX_DEPTH = 64

# A JSON string (escapes included) or one bracket: brackets inside strings do not count.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


class TooDeep(ValueError):
    def __init__(self, limit: int = MAX_DEPTH) -> None:
        super().__init__(f"nested deeper than {limit} levels of arrays and objects")
        self.limit = limit


def check_text(text: str, limit: int = MAX_DEPTH) -> None:
    """Raise TooDeep when the JSON text nests deeper than `limit`; scans, never parses."""
    depth = 0
    for match in _TOKENS.finditer(text):
        bracket = match.group()[0]
        if bracket in "[{":
            depth += 1
            if depth > limit:
                raise TooDeep(limit)
        elif bracket in "]}":
            depth -= 1


def check(value: Any, limit: int = MAX_DEPTH) -> None:
    """Raise TooDeep when a parsed document nests deeper than `limit` (iteratively)."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth + 1 > limit:
            raise TooDeep(limit)
        pending.extend((child, depth + 1) for child in children)


def loads(text: str, limit: int = MAX_DEPTH) -> Any:
    """`json.loads`, refusing (TooDeep) a document deeper than `limit` before parsing it."""
    check_text(text, limit)
    return json.loads(text)
