"""Triggers (DESIGN §8): cron schedules, bus events, S3 uploads and webhooks, all landing in
one SQS queue that the dispatcher function drains to start runs.

What exists per workflow (schedules in the `stepcanvas` group, rules named
`stepcanvas-<workflow id>` on the custom bus or, for S3 uploads, on the default bus) is
created at run time by the api function (functions/core/triggers/sources.py); this construct
provides what those point at and the permissions to manage them:

    EventBridge Scheduler ──(scheduler role)──┐
    rules on the custom / default bus ────────┼──▶ trigger queue ──▶ dispatcher ──▶ run
    POST /v1/hooks/{id} (api function) ───────┘        │ 3 receives
                                                       ▼
                                                 dead-letter queue ──▶ alarm
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.compliance import acknowledge, acknowledge_wildcards, resource_finding
from infra.engine import SERVICE_PREFIX, Engine
from infra.lambda_function import ServiceFunction
from infra.storage import Storage
from infra.stream import _grant_run_executions

DISPATCHER_HANDLER = "functions.dispatcher.handler.handler"
# Names the api function builds ARNs from at run time (functions/core/triggers/sources.py:
# RULE_PREFIX, and the SCHEDULE_GROUP / EVENT_BUS_NAME settings set below).
SCHEDULE_GROUP_NAME = SERVICE_PREFIX
EVENT_BUS_NAME = f"{SERVICE_PREFIX}-events"
RULE_PREFIX = f"{SERVICE_PREFIX}-"

# The dispatcher creates a run record and starts one execution per message; a batch of ten
# takes seconds, the timeout leaves room for throttled StartExecution retries.
DISPATCHER_TIMEOUT = Duration.seconds(30)
BATCH_SIZE = 10
# Waiting a little for a fuller batch costs a few seconds of trigger latency only.
MAX_BATCHING_WINDOW = Duration.seconds(5)
# AWS's guidance for SQS event sources: at least six times the function timeout (throttled
# and retried invocations keep a batch in flight) plus the batching window.
VISIBILITY_TIMEOUT = Duration.seconds(
    6 * int(DISPATCHER_TIMEOUT.to_seconds()) + int(MAX_BATCHING_WINDOW.to_seconds())
)
# A message failing three deliveries (a bad message, a deleted workflow) is parked, not lost.
MAX_RECEIVE_COUNT = 3
DEAD_LETTER_RETENTION = Duration.days(14)  # the SQS maximum
# Webhook secrets are HMAC-derived from this key per workflow (and per rotation).
WEBHOOK_KEY_LENGTH = 64


class Triggers(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        storage: Storage,
        engine: Engine,
        run_environment: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetters",
            # SQS-managed SSE: no KMS key, so no producer (Scheduler, EventBridge, the api
            # function) needs kms:GenerateDataKey, and idle costs nothing.
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=DEAD_LETTER_RETENTION,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=VISIBILITY_TIMEOUT,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=MAX_RECEIVE_COUNT
            ),
        )
        self.schedule_group = scheduler.CfnScheduleGroup(
            self, "ScheduleGroup", name=SCHEDULE_GROUP_NAME
        )
        self.scheduler_role = self._scheduler_role()
        self.event_bus = events.EventBus(self, "Bus", event_bus_name=EVENT_BUS_NAME)
        self._allow_rules_to_send()
        self.webhook_key = self._webhook_key()
        self.dispatcher = self._dispatcher(code, storage, run_environment)

    @property
    def api_environment(self) -> dict[str, str]:
        """What the api function needs to create schedules, rules and webhook messages."""
        return {
            "TRIGGER_QUEUE_URL": self.queue.queue_url,
            "TRIGGER_QUEUE_ARN": self.queue.queue_arn,
            # Ref of the group is its name; it also orders the group before the function.
            "SCHEDULE_GROUP": self.schedule_group.ref,
            "SCHEDULER_ROLE_ARN": self.scheduler_role.role_arn,
            "EVENT_BUS_NAME": self.event_bus.event_bus_name,
            "WEBHOOK_KEY_SECRET_ARN": self.webhook_key.secret_arn,
        }

    def grant_management(self, role: iam.IRole) -> iam.Policy:
        """The api function's part: manage the workflows' schedules and rules, publish on
        the custom bus, send webhook messages, read the webhook key. One policy of its own,
        so its wildcard findings carry their own reasons."""
        schedules = _arn("scheduler", f"schedule/{SCHEDULE_GROUP_NAME}/*")
        rules = rule_arns()
        policy = iam.Policy(
            self,
            "ManageTriggers",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    actions=[
                        "scheduler:CreateSchedule",
                        "scheduler:UpdateSchedule",
                        "scheduler:DeleteSchedule",
                        "scheduler:GetSchedule",
                    ],
                    resources=[schedules],
                ),
                iam.PolicyStatement(
                    # A schedule's target names the role Scheduler assumes to reach the queue.
                    actions=["iam:PassRole"],
                    resources=[self.scheduler_role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
                ),
                iam.PolicyStatement(
                    actions=[
                        "events:PutRule",
                        "events:DeleteRule",
                        "events:PutTargets",
                        "events:RemoveTargets",
                        "events:EnableRule",
                        "events:DisableRule",
                        "events:DescribeRule",
                    ],
                    resources=rules,
                ),
                iam.PolicyStatement(
                    actions=["events:PutEvents"], resources=[self.event_bus.event_bus_arn]
                ),
                iam.PolicyStatement(
                    # Filters are checked against EventBridge's own matcher before saving.
                    actions=["events:TestEventPattern"],
                    resources=["*"],
                ),
                iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.queue.queue_arn]),
                iam.PolicyStatement(
                    actions=["secretsmanager:GetSecretValue"],
                    resources=[self.webhook_key.secret_arn],
                ),
            ],
        )
        acknowledge_wildcards(
            policy,
            [resource_finding(schedules)],
            "Schedules are created per workflow at run time (<workflow id>-<n>); only those "
            f"of the {SCHEDULE_GROUP_NAME} schedule group.",
        )
        acknowledge_wildcards(
            policy,
            [resource_finding(rule) for rule in rules],
            "Rules are created per workflow at run time; only those named "
            f"{RULE_PREFIX}<workflow id>, on the default bus (S3 uploads) and on the "
            f"{EVENT_BUS_NAME} bus.",
        )
        acknowledge_wildcards(
            policy,
            ["Resource::*"],
            "events:TestEventPattern acts on no resource (it matches a pattern against an "
            "event), so IAM accepts only '*' for it.",
        )
        return policy

    def _scheduler_role(self) -> iam.Role:
        role = iam.Role(
            self,
            "SchedulerRole",
            # Only schedules of this account's group may assume it (confused deputy).
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {
                        "aws:SourceAccount": Aws.ACCOUNT_ID,
                        "aws:SourceArn": self.schedule_group.attr_arn,
                    }
                },
            ),
            description="Role EventBridge Scheduler sends Stepcanvas cron triggers with",
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.queue.queue_arn])
        )
        return role

    def _allow_rules_to_send(self) -> None:
        # EventBridge delivers to SQS through the queue's resource policy (no role); only
        # the Stepcanvas rules of this account and region may.
        self.queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="StepcanvasRules",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.queue.queue_arn],
                conditions={"ArnLike": {"aws:SourceArn": rule_arns()}},
            )
        )

    def _webhook_key(self) -> secretsmanager.Secret:
        key = secretsmanager.Secret(
            self,
            "WebhookKey",
            description="Stepcanvas: the key every workflow's webhook secret is derived from",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=WEBHOOK_KEY_LENGTH, exclude_punctuation=True
            ),
            # Losing it would invalidate every webhook secret handed out.
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            key,
            "AwsSolutions-SMG4",
            "Rotating this key would invalidate every workflow's webhook secret at once, "
            "breaking every caller; secrets are rotated per workflow instead "
            "(POST /v1/workflows/{id}/webhook/rotate derives a new one).",
        )
        return key

    def _dispatcher(
        self, code: lambda_.Code, storage: Storage, run_environment: dict[str, str]
    ) -> lambda_.IFunction:
        dispatcher = ServiceFunction(
            self,
            "dispatcher",
            code=code,
            handler=DISPATCHER_HANDLER,
            service=f"{SERVICE_PREFIX}-dispatcher",
            timeout=DISPATCHER_TIMEOUT,
            environment=run_environment,
        )
        # Run records and the Powertools idempotency records share the one table; S3
        # triggers check the uploaded object (HeadObject) before starting the run.
        storage.grant_table(dispatcher.role, write=True)
        storage.grant_bucket(dispatcher.role, write=False)
        _grant_run_executions(dispatcher.role)
        # Also grants receiving and deleting messages of this queue (and nothing else).
        dispatcher.function.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=BATCH_SIZE,
                max_batching_window=MAX_BATCHING_WINDOW,
                report_batch_item_failures=True,
            )
        )
        return dispatcher.function


def rule_arns() -> list[str]:
    """The Stepcanvas rules: on the default bus (S3 uploads) and on the custom bus."""
    return [
        _arn("events", f"rule/{RULE_PREFIX}*"),
        _arn("events", f"rule/{EVENT_BUS_NAME}/{RULE_PREFIX}*"),
    ]


def _arn(service: str, resource: str) -> str:
    return f"arn:{Aws.PARTITION}:{service}:{Aws.REGION}:{Aws.ACCOUNT_ID}:{resource}"
