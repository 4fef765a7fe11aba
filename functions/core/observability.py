"""Traces and metrics of every Stepcanvas function, defined once.

Tracing: `traced` wraps a Lambda handler in Powertools' `Tracer.capture_lambda_handler`
and patches botocore (DynamoDB, Step Functions, S3, Bedrock and every other AWS call) and
the stdlib's http.client (what the HTTP node and the OpenAI-compatible model client use),
so each call is a subsegment of the invocation's trace. Powertools' Tracer imports the
X-Ray SDK when it is made (~0.3-0.6 s), so it is made only where it records anything: in
Lambda with tracing on. Locally and in tests (no LAMBDA_TASK_ROOT, or
POWERTOOLS_TRACE_DISABLED=true) `traced` returns the handler itself and costs nothing.

Metrics: CloudWatch embedded metric format (EMF) lines on stdout, which CloudWatch Logs
turns into metrics, so no function needs cloudwatch:PutMetricData. Each helper writes one
EMF document with its own dimensions, made by Powertools' EMF provider (the engine behind
`Metrics`), instead of adding to the shared `Metrics` set that `log_metrics` flushes once
per invocation: that set carries one set of dimension values, but the dispatcher starts
the runs of several workflows in one batch, and locally every function shares a process
and its threads. POWERTOOLS_METRICS_DISABLED=true (local/aws.py) silences them.

Dimensions are few on purpose, since each distinct combination is a custom metric billed
monthly: the run metrics carry `workflow` (the workflow id) and `trigger`, so their count
grows with the number of workflows; the node metrics carry only `nodeType`.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

logger = logging.getLogger(__name__)

# CDK sets POWERTOOLS_METRICS_NAMESPACE to this on every function (infra/lambda_function.py);
# the default keeps a caller without it (a test, a script) from failing EMF validation.
NAMESPACE = "Stepcanvas"

RUNS_STARTED = "RunsStarted"
RUNS_SUCCEEDED = "RunsSucceeded"
RUNS_FAILED = "RunsFailed"
NODE_DURATION = "NodeDuration"
NODE_ERRORS = "NodeErrors"
MODEL_TOKENS = "ModelTokens"

WORKFLOW = "workflow"
TRIGGER = "trigger"
NODE_TYPE = "nodeType"

# The run statuses (functions/core/model/run.py RunStatus values) that end a run, and the
# metric each counts in; a stopped run is neither.
_FINISHED_METRICS = {
    "succeeded": RUNS_SUCCEEDED,
    "partial-succeeded": RUNS_SUCCEEDED,
    "failed": RUNS_FAILED,
}

# What the X-Ray SDK patches: every AWS SDK call, and http.client (urllib and the HTTP
# node's pinned connections are built on it).
PATCHED_MODULES = ("botocore", "httplib")

H = TypeVar("H", bound=Callable[..., Any])


def run_started(workflow_id: str, trigger: str) -> None:
    _emit({WORKFLOW: workflow_id, TRIGGER: trigger}, [(RUNS_STARTED, MetricUnit.Count, 1)])


def run_finished(workflow_id: str, trigger: str, status: str) -> None:
    """Count a run that ended `succeeded`, `partial-succeeded` or `failed`."""
    name = _FINISHED_METRICS.get(str(status))
    if name is not None:
        _emit({WORKFLOW: workflow_id, TRIGGER: trigger}, [(name, MetricUnit.Count, 1)])


def node_finished(node_type: str, elapsed_ms: int, tokens: int | None = None) -> None:
    """A node's duration, and the model tokens it used if it called a model."""
    metrics = [(NODE_DURATION, MetricUnit.Milliseconds, float(elapsed_ms))]
    if tokens:
        metrics.append((MODEL_TOKENS, MetricUnit.Count, float(tokens)))
    _emit({NODE_TYPE: node_type}, metrics)


def node_failed(node_type: str, elapsed_ms: int) -> None:
    """A failed attempt of a node: an error, and its duration (so errors / SampleCount of
    NodeDuration is the node type's error rate)."""
    _emit(
        {NODE_TYPE: node_type},
        [
            (NODE_ERRORS, MetricUnit.Count, 1.0),
            (NODE_DURATION, MetricUnit.Milliseconds, float(elapsed_ms)),
        ],
    )


def _emit(dimensions: Mapping[str, str], metrics: list[tuple[str, MetricUnit, float]]) -> None:
    # service="" keeps Powertools from adding the function's service name as a dimension:
    # runs start in three functions, and one run metric must not split into three.
    emf = AmazonCloudWatchEMFProvider(
        namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or NAMESPACE, service=""
    )
    try:
        for name, value in dimensions.items():
            emf.add_dimension(name=name, value=value or "unknown")
        for metric, unit, amount in metrics:
            emf.add_metric(name=metric, unit=unit, value=amount)
        emf.flush_metrics(raise_on_empty_metrics=True)
    except Exception:
        # A metric is never worth failing a run for (a dimension value CloudWatch refuses,
        # a closed stdout); the log line says what was lost.
        logger.warning("metrics not emitted: %s", [m[0] for m in metrics], exc_info=True)


# -- tracing ---------------------------------------------------------------------------


def tracing_enabled() -> bool:
    """Powertools' own rule (Tracer._is_tracer_disabled), without importing the X-Ray SDK:
    on in Lambda unless POWERTOOLS_TRACE_DISABLED, off anywhere else."""
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower()
    if disabled in {"1", "true", "yes", "on", "y", "t"}:
        return False
    emulated = os.environ.get("AWS_SAM_LOCAL") or os.environ.get("AWS_CHALICE_CLI_MODE")
    return bool(os.environ.get("LAMBDA_TASK_ROOT")) and not emulated


@functools.cache
def tracer() -> Tracer:
    """The function's one Tracer (service: POWERTOOLS_SERVICE_NAME), patching on creation."""
    from aws_lambda_powertools import Tracer  # noqa: PLC0415 - see the module doc

    return Tracer(patch_modules=PATCHED_MODULES)


def traced(handler: H) -> H:
    """`handler` as a traced Lambda handler, annotated with the run and node it serves.

    The response is not recorded: the api function answers API keys once, at creation,
    and outputs may hold user data or exceed a segment's 64 KB. Errors are recorded.
    """
    if not tracing_enabled():
        return handler
    recorder = tracer()

    @functools.wraps(handler)
    def annotated(event: Any, context: Any) -> Any:
        for key, value in trace_annotations(event).items():
            recorder.put_annotation(key=key, value=value)
        return handler(event, context)

    return cast(H, recorder.capture_lambda_handler(annotated, capture_response=False))


def trace_annotations(event: Any) -> dict[str, str]:
    """Searchable trace annotations from a task event (node or runs function): the run,
    its workflow, the node and its type. Other events give none."""
    if not isinstance(event, Mapping):
        return {}
    found: dict[str, str] = {}
    run, node = event.get("run"), event.get("node")
    if isinstance(run, Mapping):
        found |= _strings({"run_id": run.get("runId"), "workflow_id": run.get("workflowId")})
    if isinstance(node, Mapping):
        found |= _strings({"node_id": node.get("id"), "node_type": node.get("type")})
    return found


def _strings(values: Mapping[str, object]) -> dict[str, str]:
    return {key: value for key, value in values.items() if isinstance(value, str) and value}
