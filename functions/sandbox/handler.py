"""The code sandbox function: runs a code node's Python, and nothing else.

The code node's own function writes the run's events, so its role reaches the table and
the bucket; the user's code runs here instead. This function's role grants nothing, it
sits in subnets with no route out (infra/sandbox.py), and it gets no settings: code that
escaped the limited process (functions/nodes/code/sandbox.py) would find no data, no
credentials worth having and no network. The request and answer are `SandboxRequest` and
`SandboxAnswer` (functions/nodes/code/isolation.py), the one contract of both sides.
"""

from __future__ import annotations

from typing import Any

from functions.core.errors import NodeError
from functions.nodes.code.isolation import SandboxAnswer, SandboxRequest
from functions.nodes.code.sandbox import run_python


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    request = SandboxRequest.model_validate(event)
    try:
        # This function is the boundary behind the audit hook: a kernel that refuses the
        # metadata filter leaves the Python stand-ins (sandbox.py, run_python).
        result = run_python(
            request.code, request.inputs, request.limits.to_limits(), require_filter=False
        )
    except NodeError as exc:
        answer = SandboxAnswer(error=str(exc), error_type=exc.error_type)
    else:
        answer = SandboxAnswer(result=result)
    return answer.model_dump(mode="json", exclude_none=True)
