"""Lambda functions registered as tools, named by ARN in the node's `tool`.

Only functions named `stepcanvas-tool-*` qualify: the tool node's role may invoke exactly
those, and the name check says so plainly instead of surfacing an AccessDenied.
"""

from __future__ import annotations

import json
import re
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions.core import aws_clients
from functions.core.errors import NodeError

TOOL_FUNCTION_PREFIX = "stepcanvas-tool-"
TOOL_ERROR = "ToolError"

_LAMBDA_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:(?P<region>[a-z0-9-]+):\d{12}:function:")
_TOOL_FUNCTION = re.compile(
    _LAMBDA_ARN.pattern + re.escape(TOOL_FUNCTION_PREFIX) + r"[A-Za-z0-9_-]+(?::[A-Za-z0-9$_-]+)?$"
)


def is_lambda_arn(tool: str) -> bool:
    return _LAMBDA_ARN.match(tool) is not None


def refusal(arn: str) -> str | None:
    """Why the tool node may not invoke the function `arn` names (checked at save, and
    again when it runs), or None if it may."""
    return None if _TOOL_FUNCTION.match(arn) is not None else _not_allowed(arn)


def invoke(arn: str, payload: Any) -> Any:
    """Invoke the function synchronously with `payload` and return what it returned."""
    match = _TOOL_FUNCTION.match(arn)
    if match is None:
        raise NodeError(_not_allowed(arn), "UnknownTool")
    try:
        response = _client(match["region"]).invoke(
            FunctionName=arn,
            InvocationType="RequestResponse",
            Payload=json.dumps(payload, ensure_ascii=False).encode(),
        )
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise NodeError(
            f"cannot invoke tool '{arn}': {error.get('Code', 'Error')}: {error.get('Message', '')}",
            TOOL_ERROR,
        ) from exc
    except BotoCoreError as exc:
        raise NodeError(f"cannot invoke tool '{arn}': {exc}", TOOL_ERROR) from exc
    raw = response["Payload"].read()
    if response.get("FunctionError"):
        raise NodeError(f"tool '{arn}' failed: {_describe_failure(raw)}", TOOL_ERROR)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise NodeError(f"tool '{arn}' returned a payload that is not JSON", TOOL_ERROR) from exc


def _not_allowed(arn: str) -> str:
    return (
        f"Lambda tool '{arn}' is not allowed: tool functions must be named "
        f"'{TOOL_FUNCTION_PREFIX}*'"
    )


def _describe_failure(raw: bytes) -> str:
    # The Lambda service reports an unhandled error as {errorType, errorMessage, ...}.
    try:
        failure = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")[:1000]
    if isinstance(failure, dict):
        return f"{failure.get('errorType', 'Error')}: {failure.get('errorMessage', '')}"
    return str(failure)[:1000]


def _client(region: str) -> Any:
    # The ARN's region: a tool may live in another region than the workflow.
    return aws_clients.client("lambda", region)
