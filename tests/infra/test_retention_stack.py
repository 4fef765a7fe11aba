"""CDK assertions on run data retention (infra/retention.py): TTL on the table, its stream,
and the retention function that deletes a TTL-deleted run's S3 objects, with nothing more
than that.

The template is the one tests/infra/test_stack.py synthesizes (its `synth` fixture).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.core.data.schema import TTL_ATTRIBUTE
from functions.retention.handler import TTL_DELETIONS
from infra.retention import BATCH_SIZE, RETENTION_HANDLER, RETRY_ATTEMPTS
from tests.infra import test_stack
from tests.infra.test_stack import Synth, _as_list, _ref, _statements

pytestmark = pytest.mark.xdist_group("infra")

synths = test_stack.synths
synth = test_stack.synth


def _table(synth: Synth) -> tuple[str, dict[str, Any]]:
    ((table_id, table),) = synth.of_type("AWS::DynamoDB::Table").items()
    return table_id, table["Properties"]


def _mapping(synth: Synth) -> dict[str, Any]:
    function = {"Ref": synth.function_id(RETENTION_HANDLER)}
    (mapping,) = (
        m["Properties"]
        for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == function
    )
    return mapping


def _data_bucket_id(synth: Synth) -> str:
    (bucket_id,) = (
        logical_id
        for logical_id, bucket in synth.of_type("AWS::S3::Bucket").items()
        if "LoggingConfiguration" in bucket["Properties"]
    )
    return bucket_id


def test_the_table_expires_items_by_ttl_and_streams_keys_only(synth: Synth) -> None:
    _, table = _table(synth)
    assert table["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert table["StreamSpecification"] == {"StreamViewType": "KEYS_ONLY"}


def test_only_ttl_deletions_of_run_records_reach_the_retention_function(synth: Synth) -> None:
    table_id, _ = _table(synth)
    mapping = _mapping(synth)
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [table_id, "StreamArn"]}
    (only,) = mapping["FilterCriteria"]["Filters"]
    pattern = json.loads(only["Pattern"])
    assert pattern == TTL_DELETIONS
    assert pattern["userIdentity"]["principalId"] == ["dynamodb.amazonaws.com"]
    assert pattern["dynamodb"]["Keys"]["SK"]["S"] == ["META"]


def test_failing_records_are_retried_bisected_then_parked_and_alarmed(synth: Synth) -> None:
    mapping = _mapping(synth)
    assert mapping["BatchSize"] == BATCH_SIZE
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == RETRY_ATTEMPTS
    failures = _ref(mapping["DestinationConfig"]["OnFailure"]["Destination"])
    queue = synth.resources[failures]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    alarms = synth.of_type("AWS::CloudWatch::Alarm").values()
    watched = [a["Properties"].get("Dimensions", []) for a in alarms]
    assert [{"Name": "QueueName", "Value": {"Fn::GetAtt": [failures, "QueueName"]}}] in watched
    function = {"Name": "FunctionName", "Value": {"Ref": synth.function_id(RETENTION_HANDLER)}}
    assert [function] in watched


def test_the_retention_function_may_only_list_and_delete_run_objects(synth: Synth) -> None:
    statements = _statements(synth, synth.role_id(RETENTION_HANDLER))
    actions = {action for s in statements for action in _as_list(s["Action"])}
    s3 = {a for a in actions if a.startswith("s3:")}
    assert s3 == {"s3:DeleteObject*", "s3:ListBucket"}
    # Reads the stream, never the table itself.
    dynamodb = {a for a in actions if a.startswith("dynamodb:")}
    assert dynamodb == {
        "dynamodb:ListStreams",
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
    }
    bucket_arn = {"Fn::GetAtt": [_data_bucket_id(synth), "Arn"]}
    (delete,) = (s for s in statements if "s3:DeleteObject*" in _as_list(s["Action"]))
    assert delete["Resource"] == {"Fn::Join": ["", [bucket_arn, "/runs/*"]]}
    (listing,) = (s for s in statements if "s3:ListBucket" in _as_list(s["Action"]))
    assert listing["Resource"] == bucket_arn
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["runs/*"]}}


def test_the_retention_function_knows_the_bucket_only(synth: Synth) -> None:
    properties = synth.resources[synth.function_id(RETENTION_HANDLER)]["Properties"]
    variables = properties["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == "stepcanvas-retention"
    assert {"BUCKET_NAME"} <= set(variables)
    assert "TABLE_NAME" not in variables
    assert properties["TracingConfig"] == {"Mode": "Active"}
