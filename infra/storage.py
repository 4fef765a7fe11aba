"""The single table and the data bucket (uploads, claim-check payloads), plus its access log."""

from __future__ import annotations

from typing import cast

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from functions.core.data.schema import INDEXES, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE
from infra.compliance import acknowledge_wildcards, arn_of

ACCESS_LOG_RETENTION = Duration.days(365)


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = self._table()
        self.bucket = self._data_bucket(access_logs=self._access_log_bucket())

    def grant_table(self, role: iam.IRole, *, write: bool) -> None:
        if write:
            self.table.grant_read_write_data(role)
        else:
            self.table.grant_read_data(role)
        acknowledge_wildcards(
            role,
            [f"Resource::{arn_of(self.table)}/index/*"],
            "Queries use the table's own indexes (GSI1 lists, GSI2 status filters).",
        )

    def grant_bucket(self, role: iam.IRole, *, write: bool) -> None:
        if write:
            self.bucket.grant_read_write(role)
        else:
            self.bucket.grant_read(role)
        actions = ["s3:GetObject*", "s3:GetBucket*", "s3:List*"]
        if write:
            actions += ["s3:DeleteObject*", "s3:Abort*"]
        acknowledge_wildcards(
            role,
            [f"Resource::{arn_of(self.bucket)}/*", *(f"Action::{a}" for a in actions)],
            "Objects of the one data bucket, with the action groups of CDK's bucket grants; "
            "keys (runs/<run id>/…, uploads) are only known at run time.",
        )

    def _data_bucket(self, *, access_logs: s3.IBucket) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "Data",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="data/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="abort-incomplete-uploads",
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                ),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        # S3 upload triggers (infra/triggers.py) are rules on the default bus matching this
        # bucket's "Object Created" events. Set on the bucket itself rather than with
        # `event_bridge_enabled=True`, which CDK implements as a custom resource and its own
        # Lambda function; should `add_event_notification` ever be used on this bucket, move
        # to that flag, since CDK's custom resource then owns the whole configuration.
        cfn_bucket = cast(s3.CfnBucket, bucket.node.default_child)
        cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(
                event_bridge_enabled=True
            )
        )
        return bucket

    def _table(self) -> dynamodb.Table:
        # Key names come from functions/core/data/schema.py, which local/ also builds from.
        string = dynamodb.AttributeType.STRING
        table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=string),
            sort_key=dynamodb.Attribute(name=SORT_KEY, type=string),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            time_to_live_attribute=TTL_ATTRIBUTE,
            # Keys only: the retention function (infra/retention.py) needs the run id of
            # each record TTL deletes, nothing more.
            stream=dynamodb.StreamViewType.KEYS_ONLY,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index_name, (pk, sk) in INDEXES.items():
            table.add_global_secondary_index(
                index_name=index_name,
                partition_key=dynamodb.Attribute(name=pk, type=string),
                sort_key=dynamodb.Attribute(name=sk, type=string),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table

    def _access_log_bucket(self) -> s3.Bucket:
        # cdk-nag (S1) accepts that the log destination does not log its own access.
        return s3.Bucket(
            self,
            "AccessLogs",
            # S3 server access logging can only deliver to SSE-S3 encrypted buckets.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-logs", expiration=ACCESS_LOG_RETENTION)],
            removal_policy=RemovalPolicy.RETAIN,
        )
