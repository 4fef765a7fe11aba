"""A small, safe subset of JSONPath: `$.a.b[0]`, `$['key with spaces']`, `a.b[-1]`.

Only child names and list indexes; no filters, wildcards or script expressions, so a path
from a workflow can never evaluate code. A step that does not exist gives None.
"""

from __future__ import annotations

import re
from typing import Any

from functions.core.errors import NodeError

Step = str | int

_STEP = re.compile(
    r"""\.(?P<name>[^.\[\]'"]+)"""
    r"""|\[(?P<index>-?\d+)\]"""
    r"""|\[(?P<quote>['"])(?P<key>.*?)(?P=quote)\]"""
)


def parse(path: str) -> list[Step]:
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    elif text and not text.startswith((".", "[")):
        text = f".{text}"  # `a.b` is read as `$.a.b`
    steps: list[Step] = []
    position = 0
    while position < len(text):
        match = _STEP.match(text, position)
        if match is None:
            raise NodeError(f"invalid path '{path}' near '{text[position:]}'", "ToolInputError")
        if match["index"] is not None:
            steps.append(int(match["index"]))
        else:
            steps.append(match["name"] if match["name"] is not None else match["key"])
        position = match.end()
    return steps


def find(data: Any, path: str) -> Any:
    value = data
    for step in parse(path):
        if isinstance(value, dict):
            value = value.get(str(step))
        elif isinstance(value, list) and _is_index(step):
            index = int(step)
            value = value[index] if -len(value) <= index < len(value) else None
        else:
            return None
    return value


def _is_index(step: Step) -> bool:
    # `.0` reads like `[0]` on a list, as `{{node.items.0}}` does in templates.
    return isinstance(step, int) or step.lstrip("-").isdigit()
