"""Where a code node's Python runs: in the code sandbox function when one is configured
(always in AWS and in the local system, CODE_SANDBOX_FUNCTION_ARN), else in a limited
process of this one (unit tests). Either way the same limited process runs it
(sandbox.py); the function adds the isolation a process cannot: no permissions, no data,
no network. The request and answer below are the contract with functions/sandbox.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from functions.core import aws_clients
from functions.core.errors import NodeError
from functions.core.settings import get_settings
from functions.nodes.code.sandbox import CODE, Limits, run_python

# A synchronous Lambda request is at most 6 MB; what is left is for the JSON around it.
MAX_INVOKE_BYTES = 6 * 1024 * 1024 - 64 * 1024


class SandboxLimits(BaseModel):
    timeout_seconds: float
    memory_bytes: int
    output_bytes: int

    @classmethod
    def of(cls, limits: Limits) -> SandboxLimits:
        return cls(
            timeout_seconds=limits.timeout_seconds,
            memory_bytes=limits.memory_bytes,
            output_bytes=limits.output_bytes,
        )

    def to_limits(self) -> Limits:
        return Limits(self.timeout_seconds, self.memory_bytes, self.output_bytes)


class SandboxRequest(BaseModel):
    code: str
    inputs: dict[str, Any]
    limits: SandboxLimits


class SandboxAnswer(BaseModel):
    """main()'s result, or the node error the sandbox raised."""

    result: dict[str, Any] | None = None
    error: str | None = None
    error_type: str | None = None


def run_code(code: str, inputs: dict[str, Any], limits: Limits | None = None) -> dict[str, Any]:
    """`main(**inputs)` of `code`: its dict result, or NodeError."""
    limits = limits or Limits()
    function = get_settings().code_sandbox_function_arn
    if not function:
        return run_python(code, inputs, limits)
    request = SandboxRequest(code=code, inputs=inputs, limits=SandboxLimits.of(limits))
    payload = request.model_dump_json().encode()
    if len(payload) > MAX_INVOKE_BYTES:
        raise CODE.error(
            f"code and inputs are {len(payload):,} bytes; the sandbox takes {MAX_INVOKE_BYTES:,}"
        )
    answer = SandboxAnswer.model_validate(_invoke(function, payload))
    if answer.error is not None:
        raise NodeError(answer.error, answer.error_type or CODE.error_type)
    if answer.result is None:
        raise CODE.error("the sandbox answered neither a result nor an error")
    return answer.result


def _invoke(function: str, payload: bytes) -> Any:
    try:
        response = aws_clients.client("lambda").invoke(
            FunctionName=function, InvocationType="RequestResponse", Payload=payload
        )
    except (ClientError, BotoCoreError) as exc:
        raise CODE.error(f"the code sandbox could not be called: {exc}") from exc
    raw = response["Payload"].read()
    if response.get("FunctionError"):
        # The sandbox function itself died (out of memory, timed out): not the user's code.
        raise CODE.error(f"the code sandbox failed: {raw.decode('utf-8', 'replace')[:500]}")
    return json.loads(raw)
