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


# The alias that points at a workflow's latest published version (for operators and the
# console; runs start the exact version they are pinned to).
LIVE_ALIAS = "live"


def machine_arn(workflow_id: str) -> str:
    """The ARN of the workflow's state machine, known before it exists: the name is the
    workflow's, the account and partition those of the machine role (one per deployment)."""
    settings = get_settings()
    partition, account = _arn_parts(settings.state_machine_role_arn)
    region = _client().meta.region_name
    return f"arn:{partition}:states:{region}:{account}:stateMachine:{machine_name(workflow_id)}"


def _arn_parts(role_arn: str) -> tuple[str, str]:
    # arn:<partition>:iam::<account>:role/<name>
    parts = role_arn.split(":")
    return parts[1], parts[4]


def deploy(
    workflow_id: str, definition: dict[str, Any], *, publish: bool, exists: bool
) -> tuple[str, str | None]:
    """Create or update the workflow's state machine; with `publish`, publish a version.

    Returns (state machine ARN, version ARN or None). A version is immutable, so a run of
    it executes exactly the definition it was published with, whatever is deployed later.
    Without `publish` only the unversioned definition ($LATEST) changes: what a test run
    of the draft starts, and nothing else does. The machine's ARN is derived from the
    workflow's id, so a deploy whose caller failed to record it leaves nothing it cannot
    find again. `exists` says which call to try first (each validates the definition,
    which costs seconds for a big one in moto); the other follows when it was wrong.
    """
    settings = get_settings()
    body = json.dumps(definition, ensure_ascii=False)
    logging = _logging(settings.state_machine_log_group_arn)
    # X-Ray (set by CDK; off locally): passed on updates too, so existing machines follow.
    logging["tracingConfiguration"] = {"enabled": settings.state_machine_tracing}
    arn = machine_arn(workflow_id)
    if not exists:
        try:
            answer = _client().create_state_machine(
                name=machine_name(workflow_id),
                definition=body,
                roleArn=settings.state_machine_role_arn,
                type="STANDARD",
                publish=publish,
                **logging,
            )
            return answer["stateMachineArn"], answer.get("stateMachineVersionArn")
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "StateMachineAlreadyExists":
                raise
    answer = _client().update_state_machine(
        stateMachineArn=arn, definition=body, publish=publish, **logging
    )
    return arn, answer.get("stateMachineVersionArn")


def point_live_alias(state_machine_arn: str, version_arn: str) -> None:
    """Point the `live` alias at `version_arn`, creating the alias on first publish."""
    routing = [{"stateMachineVersionArn": version_arn, "weight": 100}]
    try:
        _client().update_state_machine_alias(
            stateMachineAliasArn=f"{state_machine_arn}:{LIVE_ALIAS}", routingConfiguration=routing
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFound":
            raise
        _client().create_state_machine_alias(name=LIVE_ALIAS, routingConfiguration=routing)


def execution_arn(state_machine_arn: str, run_id: str) -> str:
    """The ARN an execution named `run_id` gets, whichever version of the machine runs."""
    return state_machine_arn.replace(":stateMachine:", ":execution:") + f":{run_id}"


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


def start(target_arn: str, run_id: str, execution_input: dict[str, Any]) -> str:
    """Start `target_arn`: a version ARN (a published run) or the machine's own (the draft).

    The run id is the execution name, which makes a retried start idempotent."""
    answer = _client().start_execution(
        stateMachineArn=target_arn,
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


# An execution's last history event once it has ended.
_ENDED = frozenset(
    {"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"}
)


def transitions(execution_arn: str) -> int | None:
    """The states an ended execution entered (what Standard bills), from its history; None
    while it still runs, or once its history is gone (90 days)."""
    entered, last = 0, ""
    pages = _client().get_paginator("get_execution_history")
    try:
        for page in pages.paginate(executionArn=execution_arn, PaginationConfig={"PageSize": 1000}):
            entered += sum(1 for e in page["events"] if e["type"].endswith("StateEntered"))
            last = page["events"][-1]["type"] if page["events"] else last
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ExecutionDoesNotExist":
            return None
        raise
    return entered if last in _ENDED else None
