"""Step Functions: deploy a workflow's compiled machine, start, stop and inspect runs."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from functions.core.aws_clients import client
from functions.core.settings import get_settings


def _client() -> Any:
    return client("stepfunctions")


def machine_name(workflow_id: str) -> str:
    return f"{get_settings().state_machine_prefix}-{workflow_id}"


def deploy(
    workflow_id: str, definition: dict[str, Any], existing_arn: str | None
) -> tuple[str, str]:
    """Create or update the workflow's state machine and publish a version.

    Returns (state machine ARN, version ARN): the version is immutable, so a run can
    always be traced back to the exact definition it executed.
    """
    settings = get_settings()
    body = json.dumps(definition, ensure_ascii=False)
    logging = _logging(settings.state_machine_log_group_arn)
    if existing_arn:
        answer = _client().update_state_machine(
            stateMachineArn=existing_arn, definition=body, publish=True, **logging
        )
        return existing_arn, answer["stateMachineVersionArn"]
    answer = _client().create_state_machine(
        name=machine_name(workflow_id),
        definition=body,
        roleArn=settings.state_machine_role_arn,
        type="STANDARD",
        publish=True,
        **logging,
    )
    return answer["stateMachineArn"], answer["stateMachineVersionArn"]


def _logging(log_group_arn: str) -> dict[str, Any]:
    """Failed executions logged without their data: inputs may hold user content."""
    if not log_group_arn:
        return {}
    return {
        "loggingConfiguration": {
            "level": "ERROR",
            "includeExecutionData": False,
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": log_group_arn}}],
        }
    }


def delete(state_machine_arn: str) -> None:
    try:
        _client().delete_state_machine(stateMachineArn=state_machine_arn)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "StateMachineDoesNotExist":
            raise


def start(state_machine_arn: str, run_id: str, execution_input: dict[str, Any]) -> str:
    # The run id is the execution name, which makes a retried start idempotent.
    answer = _client().start_execution(
        stateMachineArn=state_machine_arn,
        name=run_id,
        input=json.dumps(execution_input, ensure_ascii=False),
    )
    arn: str = answer["executionArn"]
    return arn


def stop(execution_arn: str, cause: str) -> None:
    _client().stop_execution(executionArn=execution_arn, error="Stopped", cause=cause)


def status(execution_arn: str) -> str | None:
    """RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED; None if it was never started."""
    try:
        answer: str = _client().describe_execution(executionArn=execution_arn)["status"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ExecutionDoesNotExist":
            return None
        raise
    return answer
