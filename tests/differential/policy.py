"""When Stepcanvas agrees with Dify's engine (the README's "Dify parity" policy).

Where Dify's engine succeeds, Stepcanvas gives the same status (succeeded or
partial-succeeded), the same outputs and the same executed nodes. Where it fails,
Stepcanvas fails too, except on an input whose meaning is obvious and that Dify's engine
fails on by accident of its implementation: then Stepcanvas may succeed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.differential.engines import Outcome

# Dify's engine reads the literal of a number comparison with the type of the compared
# value: `2 = "2.5"` fails (int("2.5")) where it obviously is false.
LENIENT = (re.compile(r"invalid literal for int\(\)"),)
# Container markers: Dify reports them as executed nodes, Stepcanvas compiles them away.
MARKER_TYPES = frozenset({"iteration-start", "loop-start"})


def markers(document: dict[str, Any]) -> frozenset[str]:
    nodes = document["workflow"]["graph"]["nodes"]
    return frozenset(n["id"] for n in nodes if n["data"]["type"] in MARKER_TYPES)


def difference(dify: Outcome, ours: Outcome, ignored: frozenset[str]) -> str | None:
    """What breaks the policy, or None when the two agree."""
    if dify.status == "refused":
        return f"Dify's engine refused the workflow: {dify.error}"
    if dify.status == "failed":
        if ours.status == "failed" or any(p.search(dify.error or "") for p in LENIENT):
            return None
        return f"Dify failed ({dify.error}), Stepcanvas {ours.status} ({ours.error})"
    found = []
    if ours.status != dify.status:
        found.append(f"status: Dify {dify.status}, Stepcanvas {ours.status} ({ours.error})")
    if _canonical(ours.outputs) != _canonical(dify.outputs):
        found.append(f"outputs: Dify {dify.outputs}, Stepcanvas {ours.outputs}")
    theirs, mine = dify.executed - ignored, ours.executed - ignored
    if theirs != mine:
        found.append(
            f"executed: only Dify {sorted(theirs - mine)}, only Stepcanvas {sorted(mine - theirs)}"
        )
    return "; ".join(found) or None


def _canonical(value: Any) -> str:
    # JSON as both sides send it: 1 and 1.0 differ (a template renders them differently).
    return json.dumps(value, sort_keys=True)
