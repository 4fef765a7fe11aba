"""The one CloudWatch dashboard of a deployment: runs, nodes, models, the API, the functions
and the dead-letter queues, on one page.

The run and node metrics are the ones functions/core/observability.py writes (EMF, in the
Stepcanvas namespace). Run metrics carry a workflow dimension, so the dashboard sums them
with a SEARCH expression (graphs may use one; alarms may not); node metrics carry only the
node type, which the catalog knows at synth time, so each type is a metric of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from functions.core import observability as names
from infra.monitoring import failed_executions

PERIOD = Duration.minutes(5)
WIDTH = 8  # three graphs a row (the grid is 24 wide)


class Dashboard(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rest_api: apigw.RestApi,
        functions: Mapping[str, lambda_.IFunction],
        dead_letter_queues: Mapping[str, sqs.IQueue],
        node_types: Iterable[str],
        model_node_types: Iterable[str],
    ) -> None:
        super().__init__(scope, construct_id)
        node_types, model_node_types = sorted(node_types), sorted(model_node_types)
        # Named after the stack: dashboard names are unique per account, not per stack.
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=Stack.of(self).stack_name,
            default_interval=Duration.hours(3),
        )
        self.dashboard.add_widgets(
            _graph(
                "Runs",
                [
                    _run_total(names.RUNS_STARTED),
                    _run_total(names.RUNS_SUCCEEDED),
                    _run_total(names.RUNS_FAILED),
                ],
            ),
            _graph("Failed executions (Step Functions)", [failed_executions(PERIOD)]),
            _graph(
                "Dead-letter queue depth",
                [
                    queue.metric_approximate_number_of_messages_visible(
                        period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM, label=name
                    )
                    for name, queue in dead_letter_queues.items()
                ],
            ),
        )
        self.dashboard.add_widgets(
            _graph("Node duration p50 (ms)", _per_node(names.NODE_DURATION, "p50", node_types)),
            _graph("Node duration p95 (ms)", _per_node(names.NODE_DURATION, "p95", node_types)),
            _graph("Node errors", _per_node(names.NODE_ERRORS, "Sum", node_types)),
        )
        self.dashboard.add_widgets(
            _graph("Model tokens", _per_node(names.MODEL_TOKENS, "Sum", model_node_types)),
            _graph(
                "API errors",
                [
                    rest_api.metric_server_error(period=PERIOD, label="5XX"),
                    rest_api.metric_client_error(period=PERIOD, label="4XX"),
                ],
            ),
            _graph(
                "API latency (ms)",
                [
                    rest_api.metric_latency(period=PERIOD, statistic=stat, label=stat)
                    for stat in ("p50", "p95", "p99")
                ],
            ),
        )
        self.dashboard.add_widgets(
            _graph(
                "Lambda errors",
                [f.metric_errors(period=PERIOD, label=name) for name, f in functions.items()],
            ),
            _graph(
                "Lambda throttles",
                [f.metric_throttles(period=PERIOD, label=name) for name, f in functions.items()],
            ),
            _graph(
                "Lambda duration p95 (ms)",
                [
                    f.metric_duration(period=PERIOD, statistic="p95", label=name)
                    for name, f in functions.items()
                ],
            ),
        )


def _graph(title: str, metrics: list[cloudwatch.IMetric]) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(title=title, left=metrics, width=WIDTH, height=6)


def _run_total(metric_name: str) -> cloudwatch.MathExpression:
    """One run metric summed over every workflow and trigger."""
    schema = f"{{{names.NAMESPACE},{names.TRIGGER},{names.WORKFLOW}}}"
    return cloudwatch.MathExpression(
        expression=(
            f"SUM(SEARCH('{schema} MetricName=\"{metric_name}\"', 'Sum', "
            f"{int(PERIOD.to_seconds())}))"
        ),
        label=metric_name,
        period=PERIOD,
    )


def _per_node(
    metric_name: str, statistic: str, node_types: Iterable[str]
) -> list[cloudwatch.IMetric]:
    return [
        cloudwatch.Metric(
            namespace=names.NAMESPACE,
            metric_name=metric_name,
            dimensions_map={names.NODE_TYPE: node_type},
            statistic=statistic,
            period=PERIOD,
            label=node_type,
        )
        for node_type in node_types
    ]
