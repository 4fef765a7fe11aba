"""Alarms on what means "Stepcanvas is broken" rather than "a workflow failed".

Node functions are left out on purpose: a node raising is a normal workflow outcome (a bad
URL, a model refusing) that the state machine's Retry/Catch handle and the run records. The
authorizer is left out too: it answers every bad key by raising "Unauthorized".
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

PERIOD = Duration.minutes(5)


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rest_api: apigw.RestApi,
        functions: dict[str, lambda_.IFunction],
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
