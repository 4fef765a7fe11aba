"""How the v1 face shows workflows and runs (specs/v1-workflows-api.zh.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from functions.core import payloads
from functions.core.model import dify_environment
from functions.core.model.run import EventType, Run, RunStatus, StepEvent, StepStatus
from functions.core.model.version import Version
from functions.core.model.workflow import ExecutionMode
from functions.core.services import apps, runs, triggers, workflows
from functions.cost import RunUsage, WorkflowCost
from statemachines import cost

_RUN_STATUS = {
    RunStatus.PENDING: "pending",
    RunStatus.RUNNING: "running",
    RunStatus.SUCCEEDED: "completed",
    # v1 has no partial success: the run completed, and its step results show the failure.
    RunStatus.PARTIAL_SUCCEEDED: "completed",
    RunStatus.FAILED: "failed",
    # v1 knows four statuses; a stopped run did not complete.
    RunStatus.STOPPED: "failed",
}
_STEP_STATUS = {
    StepStatus.RUNNING: "running",
    StepStatus.SUCCEEDED: "success",
    StepStatus.FAILED: "failed",
    StepStatus.EXCEPTION: "failed",
}
# What a Dify or canvas document shows besides its graph.
_DIFY_PARTS = ("graph", "features", "environment_variables", "conversation_variables")
_SUMMARY_FIELDS = ("name", "description", "enabled", "source", "createdAt", "updatedAt")


def workflow_summary(record: dict[str, Any], base_url: str) -> dict[str, Any]:
    return {
        "_id": record["id"],
        "id": record["id"],
        **{f: record[f] for f in _SUMMARY_FIELDS},
        "executionMode": workflows.mode_of(record).value,
        "trigger": trigger(record, base_url),
    }


def trigger(record: dict[str, Any], base_url: str, show_secret: bool = False) -> dict[str, Any]:
    """The saved trigger with what it derives: next fire times, the watched S3 location,
    the webhook's URL (and, right after it was made or rotated, its secret)."""
    view = {**record["trigger"], **triggers.describe(record)}
    if "webhook" in view and "path" in view["webhook"]:
        hook = {**record["trigger"].get("webhook", {}), "url": base_url + view["webhook"]["path"]}
        if show_secret:
            hook["secret"] = triggers.webhook_secret(record)
        view["webhook"] = hook
    return view


def workflow(record: dict[str, Any], base_url: str, show_secret: bool = False) -> dict[str, Any]:
    """The workflow in full, as it was sent: a v1 document's `nodes` and `edges`; a Dify
    or canvas one's `graph`, `features` and variables (secret values hidden)."""
    document = dify_environment.public_document(record["document"])
    shown = {key: document[key] for key in _DIFY_PARTS if key in document}
    number = record.get("published")
    return {
        **workflow_summary(record, base_url),
        "trigger": trigger(record, base_url, show_secret),
        "userId": record["tenantId"],
        "nodes": document.get("nodes", []),
        "edges": document.get("edges", []),
        **shown,
        "version": number,
        "versionId": apps.version_id(record["id"], number) if number else None,
        "hash": record.get("hash"),
    }


def version(found: Version) -> dict[str, Any]:
    return {
        "version": found.number,
        "versionId": apps.version_id(found.workflow_id, found.number),
        "notes": found.notes,
        "createdBy": found.created_by,
        "createdAt": found.created_at,
        "hash": found.hash,
        **({"apiName": found.api_name} if found.api_name else {}),
        **({"apiDesc": found.api_desc} if found.api_desc else {}),
    }


def run_started(record: Run) -> dict[str, Any]:
    return {"runId": record.id, "status": "pending", "message": "工作流已加入执行队列"}


def run(record: Run, events: list[StepEvent]) -> dict[str, Any]:
    view: dict[str, Any] = {
        "_id": record.id,
        "id": record.id,
        "workflowId": record.workflow_id,
        "status": _RUN_STATUS[record.status],
        "triggeredBy": record.triggered_by,
        "triggerData": payloads.unpack_trigger(record.trigger_data, record.trigger_data_ref),
        "version": record.version,
        "stepResults": step_results(events),
        # Model tokens, as the Cortex face shows them (total, per call, per step).
        "usage": runs.usage(events),
        "createdAt": record.created_at,
    }
    if record.started_at:
        view["startedAt"] = record.started_at
    if record.finished_at:
        view["completedAt"] = record.finished_at
    if record.error:
        view["error"] = record.error
    if record.status is RunStatus.STOPPED:
        view["error"] = record.error or "stopped"
    return view


def step_results(events: list[StepEvent]) -> list[dict[str, Any]]:
    """One entry per node, in the order nodes started; the latest event of each wins."""
    steps: dict[str, dict[str, Any]] = {}
    for event in events:
        if not event.node_id:
            continue
        step = steps.setdefault(event.node_id, {"nodeId": event.node_id})
        step["status"] = _STEP_STATUS[StepStatus(event.status)] if event.status else "running"
        if event.type is EventType.NODE_STARTED:
            step["startedAt"] = event.at
        else:
            step["startedAt"] = event.started_at or step.get("startedAt")
            step["completedAt"] = event.at
            outputs = event.outputs
            if event.outputs_ref:
                outputs = payloads.unpack({"ref": event.outputs_ref})
            if outputs is not None:
                step["result"] = outputs.get("result")
            if event.error:
                step["error"] = event.error
    return list(steps.values())


# --- cost ---------------------------------------------------------------------------------


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class UsageView(_Camel):
    """One run's use of what is billed."""

    transitions: float = Field(description="State transitions (Standard bills each)")
    lambda_requests: float = Field(description="Lambda invocations")
    lambda_gb_seconds: float = Field(description="Lambda GB-seconds (memory x duration)")
    dynamodb_writes: float = Field(description="DynamoDB write request units")
    seconds: float = Field(description="Wall-clock duration (Express bills it)")


class PriceView(_Camel):
    """US dollars per 1,000 runs."""

    step_functions: float
    lambda_: float = Field(alias="lambda")
    dynamodb: float
    total: float


class FiguresView(BaseModel):
    min: PriceView
    typical: PriceView
    max: PriceView


class PerRunView(BaseModel):
    min: UsageView
    typical: UsageView
    max: UsageView


class FunctionView(_Camel):
    memory_mb: int
    seconds: float = Field(description="Assumed duration of one invocation")
    extra_requests: int = Field(description="Further invocations it makes (a sandbox)")


class AssumptionsView(_Camel):
    items: int = Field(description="Items per Map state and rounds per loop")
    region: str
    prices_as_of: str
    lambda_architecture: str
    express_billed_mb: int
    fixed_writes_per_run: int
    functions: dict[str, FunctionView] = Field(description="By node type")
    notes: list[str]


class WorkflowCostView(_Camel):
    """`GET /v1/workflows/{id}/cost`: an estimate from the compiled state machine."""

    workflow_id: str
    version: int | None = Field(description="The version estimated; null: the draft")
    execution_mode: ExecutionMode = Field(
        description="The machine it runs on: which of `per1000Runs` it is billed as"
    )
    per_run: PerRunView
    per_1000_runs: dict[str, FiguresView] = Field(
        alias="per1000Runs", description="`standard` and `express`"
    )
    assumptions: AssumptionsView


_NOTES = [
    "min and max take, for each figure separately, the cheapest or dearest outcome of "
    "every Choice; typical weighs a Choice's outcomes equally",
    "every Parallel branch runs; each Map runs `items` items and each loop `items` rounds",
    "paths that fail (Catch, Retry) are not counted",
    "each DynamoDB write is one write request unit (items up to 1 KB)",
    "free tiers are not deducted",
]


def workflow_cost(found: WorkflowCost) -> WorkflowCostView:
    def usage(figure: cost.Figure) -> UsageView:
        spent = found.per_run.figure(figure)
        return UsageView(
            transitions=spent.transitions,
            lambda_requests=spent.lambda_requests,
            lambda_gb_seconds=round(spent.lambda_gb_seconds, 6),
            dynamodb_writes=spent.writes,
            seconds=round(spent.seconds, 3),
        )

    def prices(kind: cost.Kind) -> FiguresView:
        shown = {}
        for figure in cost.FIGURES:
            price = cost.price_per_1000(found.per_run.figure(figure), kind)
            shown[figure] = PriceView(
                step_functions=round(price.step_functions, 6),
                lambda_=round(price.lambda_, 6),
                dynamodb=round(price.dynamodb, 6),
                total=round(price.total, 6),
            )
        return FiguresView(**shown)

    return WorkflowCostView(
        workflow_id=found.workflow_id,
        version=found.version,
        execution_mode=found.mode,
        per_run=PerRunView(min=usage("min"), typical=usage("typical"), max=usage("max")),
        per_1000_runs={"standard": prices("standard"), "express": prices("express")},
        assumptions=AssumptionsView(
            items=found.items,
            region=cost.REGION,
            prices_as_of=cost.PRICES_AS_OF,
            lambda_architecture=cost.DEPLOYED_ARCHITECTURE,
            express_billed_mb=cost.EXPRESS_BILLED_MB,
            fixed_writes_per_run=cost.FIXED_WRITES_PER_RUN,
            functions={
                node_type: FunctionView(
                    memory_mb=p.memory_mb, seconds=p.seconds, extra_requests=p.extra_requests
                )
                for node_type, p in sorted(found.profiles.items())
            },
            notes=_NOTES,
        ),
    )


def run_detail(record: Run, events: list[StepEvent], spent: RunUsage | None) -> dict[str, Any]:
    """A run's view with what it used once it finished (null before): `usage.transitions`
    (from its execution history; an Express run has none: the Task states its log shows)
    and `usage.writes` (its log's events plus the fixed writes)."""
    view = run(record, events)
    transitions, writes = (spent.transitions, spent.writes) if spent else (None, None)
    view["usage"] = {**view["usage"], "transitions": transitions, "writes": writes}
    return view
