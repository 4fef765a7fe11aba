"""Runs and their event log, stored once in one vocabulary and mapped per API face."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field

from functions.core.model.retention import Retention
from functions.core.model.workflow import ExecutionMode


class Replay(BaseModel):
    """What a replay run replays: the original run, the step it reruns from, and the
    steps whose stored outputs it reuses instead of running them again."""

    run_id: str
    step_key: str
    reuse: list[str] = Field(default_factory=list)


class RunStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    # Succeeded although a node failed: its error strategy, `throw_on_error: false` or
    # its iteration's error mode let the run go on (Dify's own status for such a run).
    PARTIAL_SUCCEEDED = "partial-succeeded"
    FAILED = "failed"
    STOPPED = "stopped"

    @property
    def finished(self) -> bool:
        return self not in (RunStatus.PENDING, RunStatus.RUNNING)

    @property
    def succeeded(self) -> bool:
        return self in (RunStatus.SUCCEEDED, RunStatus.PARTIAL_SUCCEEDED)


class Run(BaseModel):
    id: str
    workflow_id: str
    tenant_id: str
    status: RunStatus = RunStatus.PENDING
    triggered_by: str = "api"
    trigger_data: Any = None
    # Where the trigger data is when it was too big to keep inline (a claim check).
    trigger_data_ref: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] | None = None
    outputs_ref: str | None = None
    error: str | None = None
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    execution_arn: str | None = None
    # The machine it runs on. An Express run has no execution ARN: it cannot be described,
    # stopped or read back from Step Functions (its log group holds it, named by run id).
    execution_mode: ExecutionMode = ExecutionMode.STANDARD
    total_tokens: int = 0
    # The published version the run executes, or "draft" (a test run from the editor).
    version: int | Literal["draft"] | None = None
    replay: Replay | None = None
    # How long the run is kept (functions/core/model/retention.py); default: forever.
    retention: Retention = Field(default_factory=Retention)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def retention_due_at(self) -> str | None:
        """When the run is gone from every face (ISO 8601); None while it is kept."""
        return self.retention.due_at(self.created_at, failed=self.status is RunStatus.FAILED)


class EventType(StrEnum):
    WORKFLOW_STARTED = "workflow_started"
    NODE_STARTED = "node_started"
    NODE_FINISHED = "node_finished"
    WORKFLOW_FINISHED = "workflow_finished"


class StepStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXCEPTION = "exception"  # failed, but the node's error strategy let the run go on


class StepEvent(BaseModel):
    """One entry of a run's event log; SSE, traces and step results are all read from it."""

    seq: int = 0
    type: EventType
    at: str
    node_id: str | None = None
    node_type: str | None = None
    title: str | None = None
    status: StepStatus | RunStatus | None = None
    inputs: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    # Outputs over the inline limit live in S3 (the same object the state refers to).
    outputs_ref: str | None = None
    error: str | None = None
    started_at: str | None = None
    elapsed_ms: int | None = None
    tokens: int | None = None
    # A failure the node's error strategy turns into an outcome; it cannot fail the run.
    handled: bool | None = None
    # The outgoing handle a branching node chose (a replay reuses it with the outputs).
    handle: str | None = None
