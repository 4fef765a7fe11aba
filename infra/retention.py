"""Run data retention (DESIGN §6; functions/core/model/retention.py).

Every item of a run's partition carries the run's TTL, so DynamoDB itself deletes a due
run's record and event log, at no write cost. What TTL cannot reach is the run's S3
objects (claim-check outputs, big trigger data and events, under runs/<run id>/): the
table's stream carries each TTL deletion, the event filter keeps only those of run
records, and the retention function deletes the run's prefix.

    TTL deletes RUN#<id> / META ──stream (keys only)──▶ filter: TTL deletions of run records
                                                              │
                                                              ▼
                                          retention λ ──▶ S3 DeleteObjects runs/<id>/…
                                                              │ retries used up
                                                              ▼
                                                      failure queue ──▶ alarm

A stream rather than a scheduled sweep: TTL deletes for free while a sweep pays for every
item it deletes (and must find due runs, which needs an index or a scan), and only the
stream knows exactly when TTL removed a record. Locally, where moto runs neither TTL nor
stream mappings, local/triggers.py `expire` does both and calls the same handler.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from functions.core.data.blobs import RUN_PREFIX
from functions.retention.handler import TTL_DELETIONS
from infra.compliance import acknowledge, acknowledge_wildcards, arn_of
from infra.engine import SERVICE_PREFIX
from infra.lambda_function import ServiceFunction
from infra.storage import Storage

RETENTION_HANDLER = "functions.retention.handler.handler"
# TTL deletions are not urgent: wait for full batches, so a burst of due runs costs few
# invocations. Each record is a ListObjectsV2 (and a DeleteObjects when there is anything).
BATCH_SIZE = 100
MAX_BATCHING_WINDOW = Duration.seconds(60)
RETENTION_TIMEOUT = Duration.seconds(120)
# A failing record is retried (the batch halved each time to isolate it), then parked.
RETRY_ATTEMPTS = 6
FAILURE_RETENTION = Duration.days(14)  # the SQS maximum


class Retention(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, code: lambda_.Code, storage: Storage
    ) -> None:
        super().__init__(scope, construct_id)
        # What Lambda parks here is the batch's stream position, not the records: redrive
        # by reading the stream (24 h) or, later, by listing the run prefixes left over.
        self.failures = sqs.Queue(
            self,
            "Failures",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=FAILURE_RETENTION,
        )
        acknowledge(
            self.failures,
            "AwsSolutions-SQS3",
            "This queue is itself the failure destination of the retention function's "
            "stream mapping; an alarm watches it.",
        )
        retention = ServiceFunction(
            self,
            "retention",
            code=code,
            handler=RETENTION_HANDLER,
            service=f"{SERVICE_PREFIX}-retention",
            timeout=RETENTION_TIMEOUT,
            memory_size=256,
            environment={"BUCKET_NAME": storage.bucket.bucket_name},
        )
        self.function: lambda_.IFunction = retention.function
        self._grant_run_objects(retention.role, storage)
        # Also grants reading the stream, and sending to the failure queue.
        retention.function.add_event_source(
            event_sources.DynamoEventSource(
                storage.table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=BATCH_SIZE,
                max_batching_window=MAX_BATCHING_WINDOW,
                retry_attempts=RETRY_ATTEMPTS,
                bisect_batch_on_error=True,
                report_batch_item_failures=True,
                on_failure=event_sources.SqsDlq(self.failures),
                filters=[lambda_.FilterCriteria.filter(TTL_DELETIONS)],
            )
        )
        acknowledge_wildcards(
            retention.role,
            ["Resource::*"],
            "dynamodb:ListStreams (how the stream mapping finds the table's stream) supports "
            "no resource-level permissions.",
        )

    @staticmethod
    def _grant_run_objects(role: iam.IRole, storage: Storage) -> None:
        """Listing and deleting objects under runs/ only: nothing else of the bucket."""
        storage.bucket.grant_delete(role, f"{RUN_PREFIX}*")
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[storage.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{RUN_PREFIX}*"]}},
            )
        )
        acknowledge_wildcards(
            role,
            [f"Resource::{arn_of(storage.bucket)}/{RUN_PREFIX}*", "Action::s3:DeleteObject*"],
            f"A due run's objects are under {RUN_PREFIX}<run id>/, known only at run time; "
            "CDK's delete grant is the DeleteObject action group (objects and versions).",
        )
