"""EventBridge Scheduler, EventBridge and SQS: the only module that talks to them.

Each workflow's trigger is one or two schedules (`<workflow id>-<n>` in the schedule
group) or one rule (`stepcanvas-<workflow id>`, on the custom bus for events and on the
default bus for S3 uploads), all aimed at the trigger queue; names derive from the
workflow id, so nothing needs remembering to be found and removed.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from functions.core.aws_clients import client
from functions.core.settings import get_settings

RULE_PREFIX = "stepcanvas-"
EVENT_SOURCE = "stepcanvas"
DEFAULT_BUS = "default"
# At most two schedules per workflow (a Unix cron restricting both kinds of day).
MAX_SCHEDULES = 2


class PatternRefused(ValueError):
    """EventBridge refused an event pattern (a filter's matcher it does not know)."""


def schedule_name(workflow_id: str, index: int) -> str:
    return f"{workflow_id}-{index}"


def rule_name(workflow_id: str) -> str:
    return f"{RULE_PREFIX}{workflow_id}"


def put_schedules(
    workflow_id: str, expressions: list[str], timezone: str, message: str, enabled: bool
) -> None:
    """Create or update the workflow's schedules, one per expression; drop the rest."""
    settings = get_settings()
    scheduler = client("scheduler")
    for index, expression in enumerate(expressions):
        arguments = {
            "Name": schedule_name(workflow_id, index),
            "GroupName": settings.schedule_group,
            "ScheduleExpression": expression,
            "ScheduleExpressionTimezone": timezone,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED" if enabled else "DISABLED",
            "Target": {
                "Arn": settings.trigger_queue_arn,
                "RoleArn": settings.scheduler_role_arn,
                "Input": message,
                # A schedule that cannot reach the queue retries for an hour, then drops.
                "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10},
            },
        }
        try:
            scheduler.update_schedule(**arguments)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            scheduler.create_schedule(**arguments)
    delete_schedules(workflow_id, keep=len(expressions))


def delete_schedules(workflow_id: str, keep: int = 0) -> None:
    scheduler = client("scheduler")
    for index in range(keep, MAX_SCHEDULES):
        try:
            scheduler.delete_schedule(
                Name=schedule_name(workflow_id, index), GroupName=get_settings().schedule_group
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise


def list_schedules() -> list[dict[str, Any]]:
    """Every schedule of the group, in full (the local stand-in ticks them)."""
    scheduler = client("scheduler")
    group = get_settings().schedule_group
    found = []
    for page in scheduler.get_paginator("list_schedules").paginate(GroupName=group):
        for summary in page["Schedules"]:
            found.append(scheduler.get_schedule(Name=summary["Name"], GroupName=group))
    return found


def put_rule(
    workflow_id: str, bus: str, pattern: dict[str, Any], input_template: str, enabled: bool
) -> None:
    settings = get_settings()
    events = client("events")
    name = rule_name(workflow_id)
    try:
        events.put_rule(
            Name=name,
            EventBusName=bus,
            EventPattern=json.dumps(pattern),
            State="ENABLED" if enabled else "DISABLED",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "InvalidEventPatternException":
            raise PatternRefused(exc.response["Error"].get("Message", "invalid pattern")) from exc
        raise
    events.put_targets(
        Rule=name,
        EventBusName=bus,
        Targets=[
            {
                "Id": "trigger-queue",
                "Arn": settings.trigger_queue_arn,
                "InputTransformer": {"InputPathsMap": {}, "InputTemplate": input_template},
            }
        ],
    )


def delete_rule(workflow_id: str, bus: str) -> None:
    events = client("events")
    name = rule_name(workflow_id)
    try:
        events.remove_targets(Rule=name, EventBusName=bus, Ids=["trigger-queue"])
        events.delete_rule(Name=name, EventBusName=bus)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise


def put_event(detail_type: str, detail: dict[str, Any]) -> str:
    """Publish on the custom bus; the event's id."""
    answer = client("events").put_events(
        Entries=[
            {
                "Source": EVENT_SOURCE,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, ensure_ascii=False),
                "EventBusName": get_settings().event_bus_name,
            }
        ]
    )
    entry = answer["Entries"][0]
    if "EventId" not in entry:
        raise RuntimeError(f"EventBridge refused the event: {entry.get('ErrorMessage')}")
    event_id: str = entry["EventId"]
    return event_id


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge's own verdict (TestEventPattern); PatternRefused for a bad pattern."""
    try:
        answer = client("events").test_event_pattern(
            EventPattern=json.dumps(pattern), Event=json.dumps(event)
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "InvalidEventPatternException":
            raise PatternRefused(exc.response["Error"].get("Message", "invalid pattern")) from exc
        raise
    return bool(answer["Result"])


def send(message: str) -> None:
    client("sqs").send_message(QueueUrl=get_settings().trigger_queue_url, MessageBody=message)
