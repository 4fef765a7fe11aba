"""Step Functions: deploy a workflow's compiled machine, start, stop and inspect runs."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, ReadTimeoutError

from functions.core.aws_clients import client
from functions.core.model.workflow import ExecutionMode
from functions.core.settings import get_settings

if TYPE_CHECKING:
    from botocore.config import Config


def _client() -> Any:
    return client("stepfunctions")


# Step Functions cannot change a machine's type, and a deleted machine's name stays taken
# while its executions drain, so each workflow has one machine per mode, side by side:
# a switch of mode publishes to the other one and leaves the versions (and the runs pinned
# to them) of the first in place; deleting the workflow deletes both.
_MODE_SUFFIX = {ExecutionMode.STANDARD: "", ExecutionMode.EXPRESS: "-express"}
_MACHINE_TYPE = {ExecutionMode.STANDARD: "STANDARD", ExecutionMode.EXPRESS: "EXPRESS"}


def machine_name(workflow_id: str, mode: ExecutionMode = ExecutionMode.STANDARD) -> str:
    return f"{get_settings().state_machine_prefix}-{workflow_id}{_MODE_SUFFIX[mode]}"


# The alias that points at a workflow's latest published version (for operators and the
# console; runs start the exact version they are pinned to).
LIVE_ALIAS = "live"


def machine_arn(workflow_id: str, mode: ExecutionMode = ExecutionMode.STANDARD) -> str:
    """The ARN of the workflow's state machine of `mode`, known before it exists: the name
    is the workflow's, the account and partition those of the machine role (one per
    deployment)."""
    settings = get_settings()
    partition, account = _arn_parts(settings.state_machine_role_arn)
    region = _client().meta.region_name
    name = machine_name(workflow_id, mode)
    return f"arn:{partition}:states:{region}:{account}:stateMachine:{name}"


def mode_of(workflow_id: str, target_arn: str) -> ExecutionMode:
    """The mode of the machine `target_arn` (the machine, a version or an alias of it)."""
    name = target_arn.split(":stateMachine:", 1)[-1].split(":", 1)[0]
    express = name == machine_name(workflow_id, ExecutionMode.EXPRESS)
    return ExecutionMode.EXPRESS if express else ExecutionMode.STANDARD


def _arn_parts(role_arn: str) -> tuple[str, str]:
    # arn:<partition>:iam::<account>:role/<name>
    parts = role_arn.split(":")
    return parts[1], parts[4]


def deploy(
    workflow_id: str,
    definition: dict[str, Any],
    *,
    publish: bool,
    exists: bool,
    mode: ExecutionMode = ExecutionMode.STANDARD,
) -> tuple[str, str | None]:
    """Create or update the workflow's state machine of `mode`; with `publish`, publish a
    version.

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
    logging = _logging(settings.state_machine_log_group_arn, mode)
    # X-Ray (set by CDK; off locally): passed on updates too, so existing machines follow.
    logging["tracingConfiguration"] = {"enabled": settings.state_machine_tracing}
    arn = machine_arn(workflow_id, mode)
    if not exists:
        try:
            answer = _client().create_state_machine(
                name=machine_name(workflow_id, mode),
                definition=body,
                roleArn=settings.state_machine_role_arn,
                type=_MACHINE_TYPE[mode],
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


def _logging(log_group_arn: str, mode: ExecutionMode) -> dict[str, Any]:
    """Failed executions logged without their data: inputs may hold user content. An
    Express execution has no history, so its log is all there is of it: every event is
    logged (still without data), which is what an operator reads to follow one."""
    if not log_group_arn:
        return {}
    return {
        "loggingConfiguration": {
            "level": "ALL" if mode is ExecutionMode.EXPRESS else "ERROR",
            "includeExecutionData": False,
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": log_group_arn}}],
        }
    }


def delete_machines(workflow_id: str) -> None:
    """Delete the workflow's machines of every mode (their versions and aliases with them)."""
    for mode in ExecutionMode:
        delete(machine_arn(workflow_id, mode))


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


@dataclass(frozen=True)
class SyncResult:
    """How a StartSyncExecution ended: SUCCEEDED, FAILED or TIMED_OUT, with Step
    Functions' {Error, Cause} when it did not succeed; None: it outlasted the wait."""

    status: str | None
    error: dict[str, Any]


def start_sync(
    target_arn: str, run_id: str, execution_input: dict[str, Any], wait_seconds: float
) -> SyncResult:
    """Run an Express machine to its end in one call (StartSyncExecution, on the service's
    `sync-states` endpoint), waiting `wait_seconds` at most: past that the execution goes
    on (it is not tied to the connection) and the caller finds the run still running."""
    try:
        answer = _sync_client(wait_seconds).start_sync_execution(
            stateMachineArn=target_arn,
            name=run_id,
            input=json.dumps(execution_input, ensure_ascii=False),
        )
    except ReadTimeoutError:
        return SyncResult(None, {})
    error = {"Error": answer.get("error") or "", "Cause": answer.get("cause") or ""}
    return SyncResult(answer["status"], error if answer["status"] != "SUCCEEDED" else {})


def _sync_client(wait_seconds: float) -> Any:
    return client("stepfunctions", config=_sync_config(round(wait_seconds, 1)))


@functools.cache
def _sync_config(read_timeout: float) -> Config:
    """One per bound (the shared clients are keyed by their config object). Not retried:
    a retried start of an Express machine would run the workflow again."""
    from botocore.config import Config  # noqa: PLC0415 - botocore loads with the client

    return Config(read_timeout=read_timeout, retries={"max_attempts": 1, "mode": "standard"})


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
