"""CDK assertions on the triggers (infra/triggers.py) and what the API gains from them.

The template is the one tests/infra/test_stack.py synthesizes (its `synth` fixture, running
the real app.py, cdk-nag included); the helpers that read resources, methods and policies
out of it are shared from there too.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra.api import ROUTES, UNAUTHENTICATED_ROUTES
from infra.triggers import (
    BATCH_SIZE,
    DISPATCHER_HANDLER,
    DISPATCHER_TIMEOUT,
    EVENT_BUS_NAME,
    MAX_RECEIVE_COUNT,
    SCHEDULE_GROUP_NAME,
)
from tests.infra import test_stack
from tests.infra.test_stack import (
    API_HANDLER,
    Synth,
    _as_list,
    _authorizer_id,
    _methods,
    _ref,
    _resource_paths,
    _statements,
)

pytestmark = pytest.mark.xdist_group("infra")

# The module-scoped template fixture of test_stack.py (and the one it is built from).
synths = test_stack.synths
synth = test_stack.synth

HOOK_PATH = "/v1/hooks/{id}"
# (path, method) of every method without the key authorizer.
PUBLIC_METHODS = {(path, m) for path, methods in UNAUTHENTICATED_ROUTES.items() for m in methods}
RULE_ARN_SUFFIXES = (":rule/stepcanvas-*", f":rule/{EVENT_BUS_NAME}/stepcanvas-*")


def _only(synth: Synth, resource_type: str) -> tuple[str, dict[str, Any]]:
    (item,) = synth.of_type(resource_type).items()
    return item


def _queue_ids(synth: Synth) -> tuple[str, str]:
    """(trigger queue, dead-letter queue): the queue with a redrive policy, and its target."""
    queues = synth.of_type("AWS::SQS::Queue")
    (queue_id,) = (q for q, r in queues.items() if "RedrivePolicy" in r["Properties"])
    target = queues[queue_id]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]
    return queue_id, _ref(target)


def _queue_arn(queue_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [queue_id, "Arn"]}


def _arn_text(value: Any) -> str:
    """The literal text of a `Fn::Join` ARN, pseudo parameters left out."""
    if isinstance(value, str):
        return value
    return "".join(part for part in value["Fn::Join"][1] if isinstance(part, str))


def _rule_arn_texts() -> list[str]:
    return sorted(f"arn::events:::{suffix.lstrip(':')}" for suffix in RULE_ARN_SUFFIXES)


def _scheduler_role_id(synth: Synth) -> str:
    return synth.service_role_id("scheduler.amazonaws.com")


def _api_statements(synth: Synth) -> list[dict[str, Any]]:
    return _statements(synth, synth.role_id(API_HANDLER))


def _with_action(statements: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [s for s in statements if action in _as_list(s["Action"])]


# -- the queue and its dead letters ---------------------------------------------------------


def test_trigger_queue_redrives_to_an_encrypted_dead_letter_queue(synth: Synth) -> None:
    queue_id, dead_letters_id = _queue_ids(synth)
    queue = synth.resources[queue_id]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == MAX_RECEIVE_COUNT == 3
    dead_letters = synth.resources[dead_letters_id]["Properties"]
    assert dead_letters["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert "RedrivePolicy" not in dead_letters
    for props in (queue, dead_letters):
        # SQS-managed SSE: no KMS key that every producer would need a grant on.
        assert props["SqsManagedSseEnabled"] is True
        assert "KmsMasterKeyId" not in props


def test_trigger_queue_outlasts_six_dispatcher_timeouts(synth: Synth) -> None:
    queue_id, _ = _queue_ids(synth)
    dispatcher = synth.resources[synth.function_id(DISPATCHER_HANDLER)]["Properties"]
    assert dispatcher["Timeout"] == DISPATCHER_TIMEOUT.to_seconds()
    visibility = synth.resources[queue_id]["Properties"]["VisibilityTimeout"]
    assert visibility >= 6 * dispatcher["Timeout"]


def test_both_queues_refuse_requests_without_tls(synth: Synth) -> None:
    for queue_id in _queue_ids(synth):
        synth.template.has_resource_properties(
            "AWS::SQS::QueuePolicy",
            {
                "Queues": [{"Ref": queue_id}],
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Effect": "Deny",
                                    "Action": "sqs:*",
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                    "Resource": _queue_arn(queue_id),
                                }
                            )
                        ]
                    ),
                    "Version": "2012-10-17",
                },
            },
        )


def test_a_message_in_the_dead_letter_queue_raises_an_alarm(synth: Synth) -> None:
    _, dead_letters_id = _queue_ids(synth)
    synth.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [
                {"Name": "QueueName", "Value": {"Fn::GetAtt": [dead_letters_id, "QueueName"]}}
            ],
            "Statistic": "Maximum",
            # >= 1 message: any at all (> 0).
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "Threshold": 1,
        },
    )


def test_rules_of_the_stepcanvas_buses_may_send_to_the_queue(synth: Synth) -> None:
    queue_id, _ = _queue_ids(synth)
    policies = [
        policy["Properties"]
        for policy in synth.of_type("AWS::SQS::QueuePolicy").values()
        if policy["Properties"]["Queues"] == [{"Ref": queue_id}]
    ]
    (statement,) = [
        s
        for policy in policies
        for s in policy["PolicyDocument"]["Statement"]
        if s.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    assert (statement["Effect"], statement["Action"]) == ("Allow", "sqs:SendMessage")
    assert statement["Resource"] == _queue_arn(queue_id)
    (source_arns,) = statement["Condition"]["ArnLike"].values()
    assert set(statement["Condition"]["ArnLike"]) == {"aws:SourceArn"}
    texts = sorted(_arn_text(arn) for arn in source_arns)
    assert texts == _rule_arn_texts()


# -- the dispatcher -------------------------------------------------------------------------


def test_dispatcher_drains_the_queue_reporting_failed_items(synth: Synth) -> None:
    queue_id, _ = _queue_ids(synth)
    # The dispatcher's mapping (the retention function has one on the table's stream).
    (mapping,) = (
        m
        for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": synth.function_id(DISPATCHER_HANDLER)}
    )
    props = mapping["Properties"]
    assert props["EventSourceArn"] == _queue_arn(queue_id)
    assert props["FunctionName"] == {"Ref": synth.function_id(DISPATCHER_HANDLER)}
    assert props["BatchSize"] == BATCH_SIZE == 10
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 0 < props["MaximumBatchingWindowInSeconds"] <= 10


def test_dispatcher_has_the_api_functions_run_settings(synth: Synth) -> None:
    variables = synth.resources[synth.function_id(DISPATCHER_HANDLER)]["Properties"]["Environment"][
        "Variables"
    ]
    api = synth.resources[synth.function_id(API_HANDLER)]["Properties"]["Environment"]["Variables"]
    shared = {
        "TABLE_NAME",
        "BUCKET_NAME",
        "NODE_FUNCTION_ARNS",
        "RUNS_FUNCTION_ARN",
        "STATE_MACHINE_ROLE_ARN",
        "STATE_MACHINE_PREFIX",
        "STATE_MACHINE_LOG_GROUP_ARN",
    }
    assert shared <= set(variables)
    assert {name: variables[name] for name in shared} == {name: api[name] for name in shared}
    assert variables["POWERTOOLS_SERVICE_NAME"] == "stepcanvas-dispatcher"


def test_dispatcher_records_runs_reads_objects_and_only_starts_executions(synth: Synth) -> None:
    statements = _statements(synth, synth.role_id(DISPATCHER_HANDLER))
    actions = {action for s in statements for action in _as_list(s["Action"])}
    # Runs and Powertools idempotency records, in the one table.
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"} <= actions
    assert {"dynamodb:DeleteItem", "dynamodb:Query"} <= actions
    # HeadObject is authorised by s3:GetObject; nothing is written.
    assert "s3:GetObject*" in actions
    assert not {a for a in actions if a.startswith("s3:") and ("Put" in a or "Delete" in a)}
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage"} <= actions
    assert "states:StartExecution" in actions
    # Never creates state machines, passes roles, invokes functions or sends anywhere.
    assert "states:CreateStateMachine" not in actions
    assert not {a for a in actions if a.split(":")[0] in {"iam", "lambda", "events", "ses"}}
    assert "sqs:SendMessage" not in actions
    for statement in _with_action(statements, "states:StartExecution"):
        assert json.dumps(statement["Resource"]).endswith(':stepcanvas-*"]]}')


def test_dispatcher_errors_raise_an_alarm(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "Errors",
            "Dimensions": [
                {"Name": "FunctionName", "Value": {"Ref": synth.function_id(DISPATCHER_HANDLER)}}
            ],
        },
    )


# -- Scheduler, the bus, the bucket and the webhook key ---------------------------------------


def test_schedule_group_is_named_stepcanvas(synth: Synth) -> None:
    _, group = _only(synth, "AWS::Scheduler::ScheduleGroup")
    assert group["Properties"]["Name"] == SCHEDULE_GROUP_NAME == "stepcanvas"


def test_scheduler_role_is_assumed_by_this_accounts_group_and_only_sends_to_the_queue(
    synth: Synth,
) -> None:
    role_id = _scheduler_role_id(synth)
    (trust,) = synth.resources[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRole"
    group_id, _ = _only(synth, "AWS::Scheduler::ScheduleGroup")
    assert trust["Condition"] == {
        "StringEquals": {
            "aws:SourceAccount": {"Ref": "AWS::AccountId"},
            "aws:SourceArn": {"Fn::GetAtt": [group_id, "Arn"]},
        }
    }
    queue_id, _ = _queue_ids(synth)
    statements = _statements(synth, role_id)
    assert [(s["Effect"], s["Action"], s["Resource"]) for s in statements] == [
        ("Allow", "sqs:SendMessage", _queue_arn(queue_id))
    ]
    assert "ManagedPolicyArns" not in synth.resources[role_id]["Properties"]


def test_custom_event_bus(synth: Synth) -> None:
    _, bus = _only(synth, "AWS::Events::EventBus")
    assert bus["Properties"]["Name"] == EVENT_BUS_NAME == "stepcanvas-events"


def test_data_bucket_sends_its_events_to_eventbridge(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}},
            "LifecycleConfiguration": Match.any_value(),
        },
    )
    # Set on the bucket itself: no notifications custom resource (and its own function).
    assert not synth.of_type("Custom::S3BucketNotifications")


def test_webhook_key_is_a_generated_64_character_secret(synth: Synth) -> None:
    _, secret = _only(synth, "AWS::SecretsManager::Secret")
    assert secret["Properties"]["GenerateSecretString"] == {
        "PasswordLength": 64,
        "ExcludePunctuation": True,
    }
    assert secret["DeletionPolicy"] == "Retain"


def test_only_the_api_function_reads_the_webhook_key_and_only_its_value(synth: Synth) -> None:
    secret_id, _ = _only(synth, "AWS::SecretsManager::Secret")
    readers = [
        (policy["Properties"]["Roles"], statement["Action"])
        for policy in synth.of_type("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if {"Ref": secret_id} in _as_list(statement["Resource"])
    ]
    assert readers == [([{"Ref": synth.role_id(API_HANDLER)}], "secretsmanager:GetSecretValue")]


# -- the api function ------------------------------------------------------------------------


def test_api_function_knows_the_triggers(synth: Synth) -> None:
    variables = synth.resources[synth.function_id(API_HANDLER)]["Properties"]["Environment"][
        "Variables"
    ]
    queue_id, _ = _queue_ids(synth)
    (group_id, _), (bus_id, _) = (
        _only(synth, "AWS::Scheduler::ScheduleGroup"),
        _only(synth, "AWS::Events::EventBus"),
    )
    secret_id, _ = _only(synth, "AWS::SecretsManager::Secret")
    assert variables["TRIGGER_QUEUE_URL"] == {"Ref": queue_id}
    assert variables["TRIGGER_QUEUE_ARN"] == _queue_arn(queue_id)
    # Refs to the group and the bus are their names ("stepcanvas", "stepcanvas-events").
    assert variables["SCHEDULE_GROUP"] == {"Ref": group_id}
    assert variables["EVENT_BUS_NAME"] == {"Ref": bus_id}
    assert variables["SCHEDULER_ROLE_ARN"] == {"Fn::GetAtt": [_scheduler_role_id(synth), "Arn"]}
    assert variables["WEBHOOK_KEY_SECRET_ARN"] == {"Ref": secret_id}


def test_api_function_manages_only_the_stepcanvas_schedules(synth: Synth) -> None:
    statements = [
        s
        for s in _api_statements(synth)
        if any(a.startswith("scheduler:") for a in _as_list(s["Action"]))
    ]
    assert {a for s in statements for a in _as_list(s["Action"])} == {
        "scheduler:CreateSchedule",
        "scheduler:UpdateSchedule",
        "scheduler:DeleteSchedule",
        "scheduler:GetSchedule",
    }
    for statement in statements:
        assert _arn_text(statement["Resource"]) == "arn::scheduler:::schedule/stepcanvas/*"


def test_api_function_passes_the_scheduler_role_to_scheduler_only(synth: Synth) -> None:
    passes = _with_action(_api_statements(synth), "iam:PassRole")
    scheduler_role = {"Fn::GetAtt": [_scheduler_role_id(synth), "Arn"]}
    (to_scheduler,) = [s for s in passes if s["Resource"] == scheduler_role]
    assert to_scheduler["Condition"] == {
        "StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}
    }
    # The only other PassRole is the state machine role's, to Step Functions.
    services = sorted(s["Condition"]["StringEquals"]["iam:PassedToService"] for s in passes)
    assert services == ["scheduler.amazonaws.com", "states.amazonaws.com"]


def test_api_function_manages_only_the_stepcanvas_rules(synth: Synth) -> None:
    statements = _api_statements(synth)
    rule_actions = {
        "events:PutRule",
        "events:DeleteRule",
        "events:PutTargets",
        "events:RemoveTargets",
        "events:EnableRule",
        "events:DisableRule",
        "events:DescribeRule",
    }
    rules = [s for s in statements if set(_as_list(s["Action"])) & rule_actions]
    assert {a for s in rules for a in _as_list(s["Action"])} == rule_actions
    for statement in rules:
        texts = sorted(_arn_text(arn) for arn in _as_list(statement["Resource"]))
        assert texts == sorted(
            f"arn::events:::{suffix.lstrip(':')}" for suffix in RULE_ARN_SUFFIXES
        )
    events_actions = {
        a for s in statements for a in _as_list(s["Action"]) if a.startswith("events:")
    }
    assert events_actions == rule_actions | {"events:PutEvents", "events:TestEventPattern"}


def test_api_function_publishes_on_the_custom_bus_and_sends_to_the_queue(synth: Synth) -> None:
    statements = _api_statements(synth)
    bus_id, _ = _only(synth, "AWS::Events::EventBus")
    (put_events,) = _with_action(statements, "events:PutEvents")
    assert put_events["Resource"] == {"Fn::GetAtt": [bus_id, "Arn"]}
    # A pattern test acts on no resource; only that action has '*'.
    (test_pattern,) = _with_action(statements, "events:TestEventPattern")
    assert (test_pattern["Action"], test_pattern["Resource"]) == ("events:TestEventPattern", "*")
    queue_id, _ = _queue_ids(synth)
    (send,) = _with_action(statements, "sqs:SendMessage")
    assert (send["Action"], send["Resource"]) == ("sqs:SendMessage", _queue_arn(queue_id))


# -- routes --------------------------------------------------------------------------------


def test_trigger_routes_are_listed() -> None:
    assert ROUTES["/v1/events"] == ("POST",)
    assert ROUTES["/v1/workflows/{id}/webhook/rotate"] == ("POST",)
    # Webhooks, the API's description and the run viewer's pages are the only routes without a key.
    viewer = {"/ui/runs/{runId}", "/ui/workflows/{id}/runs", "/ui/assets/{name}"}
    assert set(UNAUTHENTICATED_ROUTES) == {HOOK_PATH, "/swagger", "/openapi.json", *viewer}
    assert UNAUTHENTICATED_ROUTES["/swagger"] == UNAUTHENTICATED_ROUTES["/openapi.json"] == ("GET",)
    assert set(UNAUTHENTICATED_ROUTES[HOOK_PATH]) == {"GET", "POST", "PUT", "PATCH", "DELETE"}
    assert not {path for path in ROUTES if path.startswith("/v1/hooks")}


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_webhook_methods_need_no_key(synth: Synth, method: str) -> None:
    props = _methods(synth)[(HOOK_PATH, method)]
    assert props["AuthorizationType"] == "NONE"
    assert "AuthorizerId" not in props
    assert props["RequestParameters"] == {"method.request.path.id": True}


def test_webhook_methods_acknowledge_the_missing_authorizer(synth: Synth) -> None:
    paths = _resource_paths(synth)
    for method in synth.of_type("AWS::ApiGateway::Method").values():
        if paths[_ref(method["Properties"]["ResourceId"])] != HOOK_PATH:
            continue
        acknowledged = {
            rule["id"]: rule["reason"]
            for rule in method["Metadata"]["cdk_nag"]["rules_to_suppress"]
        }
        assert {"AwsSolutions-APIG4", "AwsSolutions-COG4"} <= set(acknowledged)
        assert "HMAC" in acknowledged["AwsSolutions-APIG4"]


def test_only_the_webhook_methods_go_without_the_authorizer(synth: Synth) -> None:
    authorizer = {"Ref": _authorizer_id(synth)}
    for route, props in _methods(synth).items():
        if route in PUBLIC_METHODS:
            continue
        assert (props["AuthorizationType"], props.get("AuthorizerId")) == (
            "CUSTOM",
            authorizer,
        ), route


def test_nothing_but_the_webhook_methods_lives_under_hooks(synth: Synth) -> None:
    under_hooks = {route for route in _methods(synth) if route[0].startswith("/v1/hooks")}
    assert under_hooks == {route for route in PUBLIC_METHODS if route[0] == HOOK_PATH}
    # Other unlisted paths still reach the api function through the catch-alls.
    assert ("/v1/events/{proxy+}", "ANY") in _methods(synth)
    assert ("/v1/{proxy+}", "ANY") in _methods(synth)


# -- outputs -------------------------------------------------------------------------------


def test_stack_outputs_the_trigger_queue_bus_and_bucket(synth: Synth) -> None:
    outputs = synth.template.to_json()["Outputs"]
    queue_id, _ = _queue_ids(synth)
    bus_id, _ = _only(synth, "AWS::Events::EventBus")
    (bucket_id,) = (
        logical_id
        for logical_id, bucket in synth.of_type("AWS::S3::Bucket").items()
        if "NotificationConfiguration" in bucket["Properties"]
    )
    assert outputs["TriggerQueueUrl"]["Value"] == {"Ref": queue_id}
    assert outputs["EventBusName"]["Value"] == {"Ref": bus_id}
    assert outputs["DataBucketName"]["Value"] == {"Ref": bucket_id}
