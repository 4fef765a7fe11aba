"""Alarms on what means "Stepcanvas is broken" rather than "a workflow failed".

Node functions are left out on purpose: a node raising is a normal workflow outcome (a bad
URL, a model refusing) that the state machine's Retry/Catch handle and the run records. The
authorizer is left out too: it answers every bad key by raising "Unauthorized". A message
in a dead-letter queue is a trigger that fired and started nothing: always worth a look.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

PERIOD = Duration.minutes(5)


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rest_api: apigw.RestApi,
        functions: Mapping[str, lambda_.IFunction],
        dead_letter_queues: Mapping[str, sqs.IQueue] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        _alarm_on_any(
            self,
            "Api5xx",
            rest_api.metric_server_error(period=PERIOD),
            "The API answered 5XX (gateway or api function failure).",
        )
        for name, function in functions.items():
            _alarm_on_any(
                self,
                f"{name}-errors",
                function.metric_errors(period=PERIOD),
                f"The {name} function raised an unhandled error.",
            )
        for name, queue in (dead_letter_queues or {}).items():
            _alarm_on_any(
                self,
                f"{name}-dead-letters",
                # Maximum: any message at all during the period, not an average of them.
                queue.metric_approximate_number_of_messages_visible(
                    period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
                ),
                f"Messages of the {name} queue failed every delivery and were parked in its "
                "dead-letter queue; inspect them and redrive or delete them.",
            )


def _alarm_on_any(
    scope: Construct, alarm_id: str, metric: cloudwatch.Metric, description: str
) -> None:
    # Alarms carry no actions yet: wire them to the on-call channel of each deployment.
    metric.create_alarm(
        scope,
        alarm_id,
        alarm_description=description,
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
