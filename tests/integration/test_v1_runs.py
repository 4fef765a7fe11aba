"""v1 workflows run end to end under moto: API -> state machine -> node functions -> DynamoDB."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from functions.core.data import keys as key_store
from functions.core.data import table as table_module
from functions.core.services import keys
from functions.core.settings import get_settings
from tests.integration.conftest import Api, reachable_stub


@pytest.fixture
def http_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    canned = {"/devices": (200, {"devices": [{"id": 1, "ok": True}]})}
    with reachable_stub(monkeypatch, canned) as base_url:
        yield base_url


def test_spec_example_runs_to_completion(api: Api) -> None:
    workflow = api.create(
        {
            "name": "每日设备巡检",
            "trigger": {"type": "cron", "schedule": "0 9 * * *"},
            "nodes": [
                {
                    "id": "fetch",
                    "type": "tool-call",
                    "config": {"tool": "echo", "input": {"devices": ["d1", "d2"]}},
                },
                {
                    "id": "analyze",
                    "type": "ai-generate",
                    "config": {
                        "prompt": "分析设备数据:{{fetch.result}} @ {{trigger.data.building}}"
                    },
                },
                {
                    "id": "notify",
                    "type": "email-send",
                    "config": {
                        "to": "ops@example.com",
                        "subject": "巡检报告",
                        "body": "{{analyze.result}}",
                    },
                },
            ],
            "edges": [{"from": "fetch", "to": "analyze"}, {"from": "analyze", "to": "notify"}],
        }
    )
    run = api.run_to_end(workflow["id"], {"building": "A栋"})

    assert run["status"] == "completed", run
    steps = {s["nodeId"]: s for s in run["stepResults"]}
    assert list(steps) == ["fetch", "analyze", "notify"]
    assert steps["fetch"]["result"] == {"devices": ["d1", "d2"]}
    assert '分析设备数据:{"devices": ["d1", "d2"]} @ A栋' in steps["analyze"]["result"]
    sent = ses_backends[DEFAULT_ACCOUNT_ID][get_settings().region].sent_messages
    assert len(sent) == 1
    assert sent[0].destinations["ToAddresses"] == ["ops@example.com"]
    assert sent[0].subject == "巡检报告"
    assert steps["analyze"]["result"] in sent[0].body


def test_condition_takes_one_branch_and_skips_the_other(api: Api) -> None:
    workflow = api.create(
        {
            "name": "branch",
            "nodes": [
                {
                    "id": "check",
                    "type": "condition",
                    "config": {"expression": "{{trigger.data.temp}} >= 30"},
                },
                {
                    "id": "hot",
                    "type": "tool-call",
                    "config": {"tool": "echo", "input": {"say": "hot"}},
                },
                {
                    "id": "cold",
                    "type": "tool-call",
                    "config": {"tool": "echo", "input": {"say": "cold"}},
                },
                {
                    "id": "after_hot",
                    "type": "tool-call",
                    "config": {"tool": "echo", "input": {"x": "{{hot.result.say}}"}},
                },
                {
                    "id": "merge",
                    "type": "ai-generate",
                    "config": {"prompt": "{{hot.result.say}}{{cold.result.say}}"},
                },
            ],
            "edges": [
                {"from": "check", "to": "hot", "condition": "true"},
                {"from": "check", "to": "cold", "condition": "false"},
                {"from": "hot", "to": "after_hot"},
                {"from": "after_hot", "to": "merge"},
                {"from": "cold", "to": "merge"},
            ],
        }
    )
    hot = api.run_to_end(workflow["id"], {"temp": 35})
    cold = api.run_to_end(workflow["id"], {"temp": "12"})

    assert [s["nodeId"] for s in hot["stepResults"]] == ["check", "hot", "after_hot", "merge"]
    assert [s["nodeId"] for s in cold["stepResults"]] == ["check", "cold", "merge"]
    assert cold["stepResults"][-1]["result"].endswith("cold")
    assert hot["status"] == cold["status"] == "completed"


def test_failing_http_node_fails_the_run_with_its_error(api: Api, http_server: str) -> None:
    workflow = api.create(
        {
            "name": "http",
            "nodes": [
                {"id": "ok", "type": "http-request", "config": {"url": f"{http_server}/devices"}},
                {
                    "id": "bad",
                    "type": "http-request",
                    "config": {"url": "http://169.254.169.254/latest/meta-data"},
                },
                {"id": "never", "type": "tool-call", "config": {"tool": "echo"}},
            ],
            "edges": [{"from": "ok", "to": "bad"}, {"from": "bad", "to": "never"}],
        }
    )
    run = api.run_to_end(workflow["id"])

    assert run["status"] == "failed"
    steps = {s["nodeId"]: s for s in run["stepResults"]}
    assert steps["ok"]["status"] == "success"
    assert steps["ok"]["result"] == {"devices": [{"id": 1, "ok": True}]}
    assert steps["bad"]["status"] == "failed" and "169.254.169.254" in steps["bad"]["error"]
    assert "never" not in steps
    assert "bad" in run["error"]


def test_api_keys_are_stored_only_as_hashes(api: Api) -> None:
    created = api.call("POST", "/v1/keys", json={"name": "x", "scopes": ["read"]}).json()
    items = table_module.table().scan()["Items"]
    assert not any(created["key"] in str(item) for item in items)
    assert key_store.get_by_hash(keys.digest(created["key"]))


def test_run_records_are_listed_newest_first(api: Api) -> None:
    workflow = api.create(
        {"name": "n", "nodes": [{"id": "a", "type": "tool-call", "config": {"tool": "echo"}}]}
    )
    first = api.run_to_end(workflow["id"], {"n": 1})
    second = api.run_to_end(workflow["id"], {"n": 2})
    listed = api.call("GET", f"/v1/workflows/{workflow['id']}/runs", params={"limit": 1}).json()[
        "runs"
    ]
    assert [r["_id"] for r in listed] == [second["_id"]]
    both = api.call("GET", f"/v1/workflows/{workflow['id']}/runs").json()["runs"]
    assert [r["_id"] for r in both] == [second["_id"], first["_id"]]
    assert (
        boto3.client("stepfunctions").describe_execution(
            executionArn=f"arn:aws:states:us-east-1:123456789012:execution:stepcanvas-{workflow['id']}:{first['_id']}"
        )["status"]
        == "SUCCEEDED"
    )
