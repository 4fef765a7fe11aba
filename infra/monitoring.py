"""Alarms on what means "Stepcanvas is broken" rather than "a workflow failed", and the
topic every one of them notifies.

Node functions are left out of the function-error alarms on purpose: a node raising is a
normal workflow outcome (a bad URL, a model refusing) that the state machine's Retry/Catch
handle and the run records. The authorizer is left out too: it answers every bad key by
raising "Unauthorized". A message in a dead-letter queue is a trigger that fired and
started nothing: always worth a look. Failed executions are alarmed on as a whole (the
issue asks for it): a burst of them is how a broken deployment shows in the engine.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.compliance import acknowledge

PERIOD = Duration.minutes(5)
# The context value (`cdk deploy -c alarmEmail=ops@example.com`, or cdk.json) that
# subscribes an address to the alarm topic; without it the topic has no subscriber.
ALARM_EMAIL_CONTEXT = "alarmEmail"


def failed_executions(period: Duration = PERIOD) -> cloudwatch.MathExpression:
    """ExecutionsFailed summed over every state machine of the account and region.

    The machines are created at run time, one per workflow, so no metric can name them at
    synth time, and an alarm may not use a SEARCH expression; a Metrics Insights query
    may, and it follows machines as they come and go. Metrics Insights filters only by
    exact dimension values, not by the `stepcanvas-` name prefix, so machines of other
    applications in the same account and region count too (give Stepcanvas its own
    account, as AWS recommends per workload).
    """
    return cloudwatch.MathExpression(
        expression='SELECT SUM(ExecutionsFailed) FROM SCHEMA("AWS/States", StateMachineArn)',
        label="Failed executions",
        period=period,
    )


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rest_api: apigw.RestApi,
        functions: Mapping[str, lambda_.IFunction],
        dead_letter_queues: Mapping[str, sqs.IQueue] | None = None,
        alarm_email: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name="Stepcanvas alarms",
            # Publishers must use TLS (AwsSolutions-SNS3).
            enforce_ssl=True,
        )
        acknowledge(
            self.topic,
            "AwsSolutions-SNS2",
            "Alarm notifications carry alarm names and states, no user data; CloudWatch "
            "cannot publish to a topic under the AWS-managed SNS key, and a customer key "
            "would cost every idle deployment $1 a month.",
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self.alarms: list[cloudwatch.Alarm] = []

        self._alarm_on_any(
            "Api5xx",
            rest_api.metric_server_error(period=PERIOD),
            "The API answered 5XX (gateway or api function failure).",
        )
        for name, function in functions.items():
            self._alarm_on_any(
                f"{name}-errors",
                function.metric_errors(period=PERIOD),
                f"The {name} function raised an unhandled error.",
            )
        for name, queue in (dead_letter_queues or {}).items():
            self._alarm_on_any(
                f"{name}-dead-letters",
                # Maximum: any message at all during the period, not an average of them.
                queue.metric_approximate_number_of_messages_visible(
                    period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
                ),
                f"Messages of the {name} queue failed every delivery and were parked in its "
                "dead-letter queue; inspect them and redrive or delete them.",
            )
        self._alarm_on_any(
            "ExecutionsFailed",
            failed_executions(),
            "Step Functions executions failed (every state machine of the account and "
            "region); the runs' records and /workflow/trace say which nodes failed.",
        )

    def _alarm_on_any(
        self, alarm_id: str, metric: cloudwatch.IMetric, description: str
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            alarm_id,
            metric=metric,
            alarm_description=description,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        # The recovery too, so whoever was paged learns it is over.
        action = cloudwatch_actions.SnsAction(self.topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms.append(alarm)
        return alarm
