"""StartSyncExecution, which moto leaves out, answered by moto's own execution of the machine.

Step Functions serves StartSyncExecution on its own endpoint (`sync-states.<region>`, the
operation's `hostPrefix`), so boto3 calls it there exactly as in AWS: that host is routed
to moto's Step Functions backend, whose response class gains the action. The action starts
the machine through moto's StartExecution (the interpreter that runs every local
execution, versions included) and answers once that execution ends, woken by the
execution's own end rather than by polling, in the shape of botocore's service model:
SUCCEEDED, FAILED or TIMED_OUT, with the output, or the error and cause.
"""

from __future__ import annotations

import json
import math
import re
import threading
import uuid
from typing import Any

from moto import backend_index
from moto.core.exceptions import AWSError
from moto.core.responses import ActionResult
from moto.stepfunctions import urls
from moto.stepfunctions.parser.api import ExecutionStatus
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
from moto.stepfunctions.responses import StepFunctionResponse

SYNC_URL = r"https?://sync-states\.(.+)\.amazonaws\.com"
# As Express bills: memory in 64 MB chunks, duration rounded up to 100 ms.
BILLED_MEMORY_MB = 64
BILLED_DURATION_STEP_MS = 100
_SYNC_STATUS = {ExecutionStatus.SUCCEEDED: "SUCCEEDED", ExecutionStatus.TIMED_OUT: "TIMED_OUT"}
_ended = threading.Condition()


class StateMachineTypeNotSupported(AWSError):
    TYPE = "StateMachineTypeNotSupported"
    STATUS = 400


def install() -> None:
    """Route the sync endpoint and serve the action (idempotent)."""
    if SYNC_URL not in urls.url_bases:
        urls.url_bases.append(SYNC_URL)
        backend_index.backend_url_patterns.append(("stepfunctions", re.compile(SYNC_URL)))
    StepFunctionResponse.start_sync_execution = _start_sync_execution  # type: ignore[attr-defined]
    terminated = BaseExecutionWorkerCommunication.terminated
    if getattr(terminated, "_notifies", False):
        return

    def notifying(self: BaseExecutionWorkerCommunication) -> None:
        terminated(self)
        with _ended:
            _ended.notify_all()

    notifying._notifies = True  # type: ignore[attr-defined]
    BaseExecutionWorkerCommunication.terminated = notifying  # type: ignore[method-assign]


def _start_sync_execution(self: StepFunctionResponse) -> ActionResult:
    arn = self._get_param("stateMachineArn")
    backend = self.stepfunction_backend
    machine = backend.describe_state_machine(arn)
    if machine.type != "EXPRESS":
        raise StateMachineTypeNotSupported(
            f"This operation is not supported by this type of state machine: {arn}"
        )
    name = self._get_param("name") or str(uuid.uuid4())
    execution: Any = backend.start_execution(arn, name, self._get_param("input", if_none="{}"))
    with _ended:
        _ended.wait_for(lambda: execution.exec_status is not ExecutionStatus.RUNNING)
    return ActionResult(_answer(execution))


def _answer(execution: Any) -> dict[str, Any]:
    status = _SYNC_STATUS.get(execution.exec_status, "FAILED")
    elapsed_ms = (execution.stop_date - execution.start_date).total_seconds() * 1000
    answer: dict[str, Any] = {
        "executionArn": execution.execution_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "startDate": execution.start_date,
        "stopDate": execution.stop_date,
        "status": status,
        "input": execution.execution_input,
        "inputDetails": {"included": True},
        "billingDetails": {
            "billedMemoryUsedInMB": BILLED_MEMORY_MB,
            "billedDurationInMilliseconds": BILLED_DURATION_STEP_MS
            * max(1, math.ceil(elapsed_ms / BILLED_DURATION_STEP_MS)),
        },
    }
    if status == "SUCCEEDED":
        output = execution.output
        answer["output"] = output if isinstance(output, str) else json.dumps(output)
        answer["outputDetails"] = {"included": True}
    if execution.error is not None:
        answer["error"] = execution.error
    if execution.cause is not None:
        answer["cause"] = execution.cause
    return answer
