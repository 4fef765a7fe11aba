"""Triggers end to end over real HTTP against `python -m local`: a webhook, a published
event, an S3 upload through the printed AWS endpoint and a one-minute schedule each start
a run that the real dispatcher records, with what the run sees as `trigger.data`."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx
import pytest

from tests.local_server import Server

pytestmark = pytest.mark.xdist_group("local-server")

ECHO = [
    {
        "id": "echo",
        "type": "tool-call",
        "config": {"tool": "echo", "input": {"seen": "{{trigger.data}}"}},
    }
]


def _create(client: httpx.Client, trigger: dict[str, Any], name: str = "t") -> dict[str, Any]:
    answer = client.post("/v1/workflows", json={"name": name, "trigger": trigger, "nodes": ECHO})
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def _runs(client: httpx.Client, workflow_id: str) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = client.get(f"/v1/workflows/{workflow_id}/runs").json()["runs"]
    return runs


def _wait_for_runs(
    client: httpx.Client, workflow_id: str, count: int = 1, seconds: float = 20
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        runs = _runs(client, workflow_id)
        if len(runs) >= count and all(r["status"] in ("completed", "failed") for r in runs):
            return runs
        time.sleep(0.1)
    raise AssertionError(f"{workflow_id}: expected {count} finished runs, saw {runs}")


def _signed(secret: str, body: bytes, at: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Stepcanvas-Signature": f"t={stamp},v1={mac}", "Content-Type": "application/json"}


def test_a_signed_webhook_starts_one_run_and_a_bad_signature_starts_none(server: Server) -> None:
    with server.client() as client:
        created = _create(client, {"type": "webhook"})
        hook = created["trigger"]["webhook"]
        assert hook["url"] == f"{server.base_url}/v1/hooks/{created['id']}"
        secret = hook["secret"]
        # The secret is shown once: reading the workflow back does not show it.
        assert (
            "secret"
            not in client.get(f"/v1/workflows/{created['id']}").json()["trigger"]["webhook"]
        )
        body = json.dumps({"order": 7}).encode()
        for headers in (
            {},
            _signed("whsec_wrong", body),
            _signed(secret, body, at=int(time.time()) - 301),
        ):
            refused = httpx.post(hook["url"], content=body, headers=headers)
            assert refused.status_code == 401, refused.text
        signed = _signed(secret, body)
        answer = httpx.post(hook["url"] + "?source=shop", content=body, headers=signed)
        assert answer.status_code == 202, answer.text
        again = httpx.post(hook["url"] + "?source=shop", content=body, headers=signed)
        assert again.json()["runId"] == answer.json()["runId"]  # a replay names the same run

        (run,) = _wait_for_runs(client, created["id"])
        assert run["id"] == answer.json()["runId"]
        assert run["triggeredBy"] == "webhook"
        data = run["triggerData"]
        assert (data["method"], data["query"], data["body"]) == (
            "POST",
            {"source": "shop"},
            {"order": 7},
        )
        assert "x-stepcanvas-signature" not in data["headers"]
        assert run["status"] == "completed", run

        rotated = client.post(f"/v1/workflows/{created['id']}/webhook/rotate").json()
        new_secret = rotated["trigger"]["webhook"]["secret"]
        assert new_secret != secret
        stale = httpx.post(hook["url"], content=b"{}", headers=_signed(secret, b"{}"))
        assert stale.status_code == 401


def test_a_published_event_runs_the_workflows_whose_type_and_filter_match(server: Server) -> None:
    # A type of its own: the server is shared, and the README's walkthrough (run on it
    # too) has a workflow for device.alarm events of the same tenant.
    kind = f"device.alarm.{uuid.uuid4().hex[:8]}"
    with server.client() as client:
        alarm = _create(client, {"type": "event", "event": kind, "filter": {"level": ["high"]}})
        _create(client, {"type": "event", "event": "device.other"})
        low = client.post("/v1/events", json={"type": kind, "data": {"level": "low"}})
        assert low.status_code == 202 and low.json()["matched"] == 0
        high = client.post("/v1/events", json={"type": kind, "data": {"level": "high", "id": 3}})
        assert high.status_code == 202, high.text
        assert high.json()["matched"] == 1
        (run,) = _wait_for_runs(client, alarm["id"])
        assert run["triggeredBy"] == "event"
        assert run["triggerData"]["eventId"] == high.json()["eventId"]
        assert run["triggerData"]["type"] == kind
        assert run["triggerData"]["data"] == {"level": "high", "id": 3}


def test_an_upload_under_the_watched_location_starts_a_run(server: Server) -> None:
    with server.client() as client:
        created = _create(client, {"type": "s3", "prefix": "inbox/", "suffix": ".csv"})
        uri = created["trigger"]["s3Uri"]
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        assert bucket == server.data_bucket and prefix.endswith("/inbox/")
        s3 = server.aws("s3")
        s3.put_object(Bucket=bucket, Key=f"{prefix}notes.txt", Body=b"not watched")
        s3.put_object(Bucket=bucket, Key="elsewhere/report.csv", Body=b"a,b")
        s3.put_object(
            Bucket=bucket, Key=f"{prefix}report.csv", Body=b"a,b\n1,2", ContentType="text/csv"
        )
        (run,) = _wait_for_runs(client, created["id"])
        assert run["triggeredBy"] == "s3"
        data = run["triggerData"]
        assert (data["bucket"], data["key"], data["size"]) == (bucket, f"{prefix}report.csv", 7)
        assert data["contentType"] == "text/csv" and data["etag"]
        time.sleep(1)
        assert len(_runs(client, created["id"])) == 1


def test_a_disabled_or_deleted_workflow_keeps_no_schedule_or_rule(server: Server) -> None:
    scheduler, events = server.aws("scheduler"), server.aws("events")
    with server.client() as client:
        cron = _create(
            client, {"type": "cron", "schedule": "0 9 1 * MON", "timezone": "Asia/Shanghai"}
        )
        assert len(cron["trigger"]["nextRuns"]) == 3
        assert cron["trigger"]["nextRuns"][0].endswith("+08:00")
        names = {s["Name"] for s in scheduler.list_schedules(GroupName="stepcanvas")["Schedules"]}
        assert {f"{cron['id']}-0", f"{cron['id']}-1"} <= names
        client.put(f"/v1/workflows/{cron['id']}", json={"enabled": False})
        schedule = scheduler.get_schedule(Name=f"{cron['id']}-0", GroupName="stepcanvas")
        assert schedule["State"] == "DISABLED"
        assert client.delete(f"/v1/workflows/{cron['id']}").status_code == 200
        names = {s["Name"] for s in scheduler.list_schedules(GroupName="stepcanvas")["Schedules"]}
        assert not {n for n in names if n.startswith(cron["id"])}

        event = _create(client, {"type": "event", "event": "x.y"})
        rule = f"stepcanvas-{event['id']}"
        assert (
            events.describe_rule(Name=rule, EventBusName="stepcanvas-events")["State"] == "ENABLED"
        )
        client.put(f"/v1/workflows/{event['id']}", json={"trigger": {"type": "manual"}})
        assert rule not in {
            r["Name"] for r in events.list_rules(EventBusName="stepcanvas-events")["Rules"]
        }


@pytest.mark.parametrize(
    ("trigger", "field"),
    [
        ({"type": "cron", "schedule": "every blue moon"}, "trigger.schedule"),
        ({"type": "cron", "schedule": "0 9 * * *", "timezone": "Mars/Base"}, "trigger.timezone"),
        ({"type": "event"}, "trigger.event"),
        ({"type": "event", "event": "a", "filter": {"level": "high"}}, "trigger.filter.level"),
        ({"type": "s3", "prefix": "../other/"}, "trigger.prefix"),
    ],
)
def test_a_bad_trigger_answers_400_naming_the_field(
    server: Server, trigger: dict[str, Any], field: str
) -> None:
    with server.client() as client:
        answer = client.post(
            "/v1/workflows", json={"name": "bad", "trigger": trigger, "nodes": ECHO}
        )
    assert answer.status_code == 400, answer.text
    assert field in {p["where"] for p in answer.json()["problems"]}


@pytest.mark.slow
def test_an_every_minute_schedule_runs_within_65_seconds(server: Server) -> None:
    with server.client() as client:
        created = _create(client, {"type": "cron", "schedule": "* * * * *"})
        (run,) = _wait_for_runs(client, created["id"], seconds=65)
        assert run["triggeredBy"] == "cron"
        assert run["triggerData"]["schedule"] == "* * * * *"
        assert run["triggerData"]["scheduledTime"].endswith(":00Z")
        client.delete(f"/v1/workflows/{created['id']}")


DIFY_WEBHOOK = """
version: 0.6.0
kind: app
app: {name: Orders, mode: workflow}
workflow:
  graph:
    nodes:
      - id: hook
        data:
          type: trigger-webhook
          title: On order
          method: post
          content_type: application/json
          headers: [{name: X-Request-Id, required: true}]
          params: [{name: page, type: number, required: false}]
          body:
            - {name: order_id, type: string, required: true}
            - {name: amount, type: number, required: false}
      - id: end
        data:
          type: end
          title: End
          outputs:
            - {variable: order, value_selector: [hook, order_id]}
            - {variable: amount, value_selector: [hook, amount]}
            - {variable: request, value_selector: [hook, X_Request_Id]}
    edges:
      - {source: hook, target: end, sourceHandle: source}
"""


def test_a_dify_trigger_webhook_refuses_a_missing_required_field_and_runs_with_typed_values(
    server: Server,
) -> None:
    with server.client() as client:
        imported = client.post("/v1/workflows/import", json={"yaml_content": DIFY_WEBHOOK})
        assert imported.status_code == 201, imported.text
        workflow_id = imported.json()["id"]
        hook = imported.json()["trigger"]["webhook"]
        url, secret = hook["url"], hook["secret"]
        assert hook["method"] == "POST"

        missing = json.dumps({"amount": 3}).encode()
        refused = httpx.post(
            url, content=missing, headers={**_signed(secret, missing), "X-Request-Id": "r1"}
        )
        assert refused.status_code == 400 and "order_id" in refused.json()["message"]
        assert httpx.get(url, headers=_signed(secret, b"")).status_code == 405

        body = json.dumps({"order_id": "A-7", "amount": 12.5}).encode()
        accepted = httpx.post(
            url, content=body, headers={**_signed(secret, body), "X-Request-Id": "r2"}
        )
        assert accepted.status_code == 202, accepted.text
        (run,) = _wait_for_runs(client, workflow_id)
        assert run["status"] == "completed", run
        app_key = client.post(f"/v1/workflows/{workflow_id}/keys").json()["key"]
        detail = httpx.get(
            f"{server.base_url}/v1/workflows/run/{run['id']}",
            headers={"Authorization": f"Bearer {app_key}"},
        ).json()
        assert detail["outputs"] == {"order": "A-7", "amount": 12.5, "request": "r2"}


def test_a_megabyte_webhook_body_is_claim_checked_and_reaches_the_run(server: Server) -> None:
    with server.client() as client:
        created = _create(client, {"type": "webhook"})
        hook = created["trigger"]["webhook"]
        blob = "x" * (1024 * 1024)
        body = json.dumps({"blob": blob}).encode()
        answer = httpx.post(hook["url"], content=body, headers=_signed(hook["secret"], body))
        assert answer.status_code == 202, answer.text
        (run,) = _wait_for_runs(client, created["id"])
        assert run["status"] == "completed", run
        assert run["triggerData"]["body"]["blob"] == blob
        too_big = b"y" * (5 * 1024 * 1024 + 1)
        refused = httpx.post(hook["url"], content=too_big, headers=_signed(hook["secret"], too_big))
        assert refused.status_code == 413
