"""Triggers under moto: what a save creates in Scheduler and EventBridge, and what the
trigger queue's messages become once the real dispatcher handler has them."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import boto3

from functions.core.data import runs as run_store
from functions.core.data.schema import META
from functions.core.data.table import table
from functions.core.settings import get_settings
from functions.core.triggers import messages, sources
from local import aws
from local import triggers as pump
from tests.integration.conftest import Api

ECHO = [{"id": "a", "type": "tool-call", "config": {"tool": "echo", "input": {"x": 1}}}]


def _create(api: Api, trigger: dict[str, Any], enabled: bool = True) -> dict[str, Any]:
    return api.create({"name": "t", "trigger": trigger, "nodes": ECHO, "enabled": enabled})


def _scheduler() -> Any:
    return boto3.client("scheduler", region_name=aws.REGION)


def _events() -> Any:
    return boto3.client("events", region_name=aws.REGION)


def _runs(workflow_id: str) -> list[Any]:
    return run_store.list_for_workflow("tenant-a", workflow_id, limit=100)


def _cron_message(workflow_id: str, at: str = "2026-12-01T09:00:00Z") -> str:
    template = messages.cron_template(workflow_id, "tenant-a")
    return template.replace(messages.SCHEDULED_TIME, at)


def _drain_all() -> None:
    while pump.drain():
        pass


def test_a_cron_save_creates_schedules_aimed_at_the_queue_and_delete_removes_them(
    api: Api,
) -> None:
    created = _create(api, {"type": "cron", "schedule": "0 9 1 * MON", "timezone": "Asia/Shanghai"})
    group = get_settings().schedule_group
    first = _scheduler().get_schedule(Name=f"{created['id']}-0", GroupName=group)
    second = _scheduler().get_schedule(Name=f"{created['id']}-1", GroupName=group)
    assert first["ScheduleExpression"] == "cron(0 9 1 * ? *)"
    assert second["ScheduleExpression"] == "cron(0 9 ? * MON *)"
    assert first["ScheduleExpressionTimezone"] == "Asia/Shanghai"
    assert first["Target"]["Arn"] == get_settings().trigger_queue_arn
    assert first["Target"]["RoleArn"] == get_settings().scheduler_role_arn
    assert json.loads(first["Target"]["Input"])["workflowId"] == created["id"]

    # One schedule fewer when the days no longer overlap; none once deleted.
    api.call(
        "PUT",
        f"/v1/workflows/{created['id']}",
        json={"trigger": {"type": "cron", "schedule": "0 9 * * *"}},
    )
    assert [s["Name"] for s in sources.list_schedules()] == [f"{created['id']}-0"]
    assert api.call("DELETE", f"/v1/workflows/{created['id']}").status_code == 200
    assert sources.list_schedules() == []


def test_event_and_s3_rules_carry_the_tenant_pattern_and_the_queue_target(api: Api) -> None:
    event = _create(api, {"type": "event", "event": "device.alarm", "filter": {"level": ["high"]}})
    bus = get_settings().event_bus_name
    rule = _events().describe_rule(Name=f"stepcanvas-{event['id']}", EventBusName=bus)
    assert json.loads(rule["EventPattern"]) == {
        "source": ["stepcanvas"],
        "detail-type": ["device.alarm"],
        "detail": {"tenantId": ["tenant-a"], "data": {"level": ["high"]}},
    }
    (target,) = _events().list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]
    assert target["Arn"] == get_settings().trigger_queue_arn

    upload = _create(api, {"type": "s3", "prefix": "in/", "suffix": ".csv"})
    rule = _events().describe_rule(Name=f"stepcanvas-{upload['id']}")
    key = json.loads(rule["EventPattern"])["detail"]["object"]["key"]
    assert key == [{"wildcard": "tenants/tenant-a/objects/in/*.csv"}]

    # Switching to another kind of trigger removes the old rule.
    api.call("PUT", f"/v1/workflows/{upload['id']}", json={"trigger": {"type": "webhook"}})
    names = [r["Name"] for r in _events().list_rules()["Rules"]]
    assert f"stepcanvas-{upload['id']}" not in names


def test_a_disabled_workflow_keeps_disabled_schedules_and_records_nothing(api: Api) -> None:
    created = _create(api, {"type": "cron", "schedule": "* * * * *"}, enabled=False)
    (schedule,) = sources.list_schedules()
    assert schedule["State"] == "DISABLED"
    sources.send(_cron_message(created["id"]))
    _drain_all()
    assert _runs(created["id"]) == []


def test_a_queued_schedule_tick_becomes_one_run_even_when_delivered_twice(api: Api) -> None:
    created = _create(api, {"type": "cron", "schedule": "0 9 * * *", "timezone": "Europe/Paris"})
    sources.send(_cron_message(created["id"]))
    _drain_all()
    sources.send(_cron_message(created["id"]))  # Scheduler's at-least-once redelivery
    _drain_all()
    (run,) = _runs(created["id"])
    assert run.triggered_by == "cron"
    assert run.trigger_data == {
        "scheduledTime": "2026-12-01T09:00:00Z",
        "schedule": "0 9 * * *",
        "timezone": "Europe/Paris",
    }
    finished = api.call("GET", f"/v1/workflows/{created['id']}/runs/{run.id}").json()
    deadline = time.monotonic() + 20
    while finished["status"] not in ("completed", "failed") and time.monotonic() < deadline:
        time.sleep(0.05)
        finished = api.call("GET", f"/v1/workflows/{created['id']}/runs/{run.id}").json()
    assert finished["status"] == "completed"
    assert finished["triggeredBy"] == "cron"


def test_a_redelivery_after_the_idempotency_record_is_gone_still_starts_no_second_run(
    api: Api,
) -> None:
    created = _create(api, {"type": "cron", "schedule": "0 9 * * *"})
    sources.send(_cron_message(created["id"]))
    _drain_all()
    for item in table().scan()["Items"]:
        if item["PK"] == "IDEMPOTENCY#dispatcher":
            table().delete_item(Key={"PK": item["PK"], "SK": item["SK"]})
    sources.send(_cron_message(created["id"]))
    _drain_all()
    assert len(_runs(created["id"])) == 1


def test_a_malformed_message_goes_to_the_dead_letter_queue_and_others_still_run(
    api: Api,
) -> None:
    created = _create(api, {"type": "cron", "schedule": "0 9 * * *"})
    sources.send("not json")
    sources.send(json.dumps({"kind": "cron", "workflowId": created["id"]}))
    sources.send(_cron_message(created["id"]))
    for _ in range(aws.MAX_RECEIVES + 1):
        _drain_all()
    assert len(_runs(created["id"])) == 1
    sqs = boto3.client("sqs", region_name=aws.REGION)
    dead = sqs.receive_message(QueueUrl=aws.dead_letter_queue_url(), MaxNumberOfMessages=10)
    assert sorted(m["Body"][:10] for m in dead["Messages"]) == sorted(
        ["not json", '{"kind": "'[:10]]
    )
    queue = sqs.get_queue_attributes(
        QueueUrl=get_settings().trigger_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert queue["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_a_message_for_another_tenant_or_a_deleted_workflow_starts_nothing(api: Api) -> None:
    created = _create(api, {"type": "cron", "schedule": "0 9 * * *"})
    forged = json.loads(_cron_message(created["id"]))
    sources.send(json.dumps({**forged, "tenantId": "tenant-b"}))
    _drain_all()
    assert _runs(created["id"]) == []
    api.call("DELETE", f"/v1/workflows/{created['id']}")
    sources.send(_cron_message(created["id"]))
    _drain_all()
    assert table().get_item(Key={"PK": f"WF#{created['id']}", "SK": META}).get("Item") is None


def test_the_pump_ticks_a_schedule_in_its_time_zone(api: Api) -> None:
    created = _create(api, {"type": "cron", "schedule": "0 9 * * *", "timezone": "Asia/Shanghai"})
    assert pump.tick(datetime(2026, 6, 2, 9, 0, tzinfo=UTC)) == 0
    assert pump.tick(datetime(2026, 6, 2, 1, 0, tzinfo=UTC)) == 1  # 09:00 in Shanghai
    _drain_all()
    (run,) = _runs(created["id"])
    assert run.trigger_data["scheduledTime"] == "2026-06-02T01:00:00Z"


def test_an_object_outside_the_tenant_location_starts_nothing(api: Api) -> None:
    created = _create(api, {"type": "s3", "prefix": "in/"})
    s3 = boto3.client("s3", region_name=aws.REGION)
    bucket = get_settings().bucket_name
    s3.put_object(Bucket=bucket, Key="tenants/tenant-b/objects/in/x.txt", Body=b"x")
    s3.put_object(Bucket=bucket, Key="tenants/tenant-a/objects/in/x.txt", Body=b"xyz")
    _drain_all()
    (run,) = _runs(created["id"])
    assert run.trigger_data["key"] == "tenants/tenant-a/objects/in/x.txt"
    assert run.trigger_data["size"] == 3


def test_a_megabyte_of_run_data_is_claim_checked_and_the_run_completes(api: Api) -> None:
    created = api.create(
        {
            "name": "big",
            "nodes": [
                {
                    "id": "a",
                    "type": "tool-call",
                    "config": {"tool": "echo", "input": {"n": "{{trigger.data.n}}"}},
                }
            ],
        }
    )
    data = {"blob": "z" * (1024 * 1024), "n": 7}
    run = api.run_to_end(created["id"], data)
    assert run["status"] == "completed", run
    assert run["stepResults"][0]["result"] == {"n": 7}
    assert run["triggerData"] == data
    stored = table().get_item(Key={"PK": f"RUN#{run['id']}", "SK": META})["Item"]
    assert len(stored["body"]) < 10_000  # the run item holds the reference, not the data
