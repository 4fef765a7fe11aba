"""The v1 management API over real HTTP against `python -m local`."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.local_server import Server

pytestmark = pytest.mark.xdist_group("local-server")

CHAIN = {
    "name": "chain",
    "description": "three nodes",
    "nodes": [
        {
            "id": "fetch",
            "type": "tool-call",
            "config": {"tool": "echo", "input": {"b": "{{trigger.data.building}}"}},
        },
        {"id": "check", "type": "condition", "config": {"expression": "{{fetch.result.b}} == 'A'"}},
        {
            "id": "analyze",
            "type": "ai-generate",
            "config": {"prompt": "report on {{fetch.result.b}}"},
        },
    ],
    "edges": [
        {"from": "fetch", "to": "check"},
        {"from": "check", "to": "analyze", "condition": "true"},
    ],
}


def _wait(client: httpx.Client, workflow_id: str, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run: dict[str, Any] = client.get(f"/v1/workflows/{workflow_id}/runs/{run_id}").json()
        if run["status"] in ("completed", "failed"):
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} still {run['status']}")


def _key(server: Server, *scopes: str, tenant: str = "own") -> str:
    with server.client() as admin:
        answer = admin.post(
            "/v1/keys", json={"name": "t", "scopes": list(scopes), "tenant": tenant}
        )
    assert answer.status_code == 201, answer.text
    key: str = answer.json()["key"]
    return key


def test_requests_without_a_valid_key_are_refused(server: Server) -> None:
    assert httpx.get(f"{server.base_url}/v1/workflows").status_code == 401
    with server.client("sc_not-a-key") as client:
        assert client.get("/v1/workflows").status_code == 401
    bearer = httpx.get(
        f"{server.base_url}/v1/workflows", headers={"Authorization": f"Bearer {server.admin_key}"}
    )
    assert bearer.status_code == 200


def test_demo_workflow_is_loaded(server: Server) -> None:
    with server.client() as client:
        listed = client.get("/v1/workflows").json()
    assert server.demo_workflow_id in [w["_id"] for w in listed["workflows"]]


def test_create_list_get_update_delete(server: Server) -> None:
    with server.client() as client:
        created = client.post("/v1/workflows", json=CHAIN)
        assert created.status_code == 201
        body = created.json()
        assert body["name"] == "chain" and body["enabled"] is True and body["source"] == "api"
        assert body["trigger"] == {"type": "manual"}
        assert body["nodes"][0]["id"] == "fetch" and body["edges"][1]["condition"] == "true"
        workflow_id = body["id"]

        summary = next(
            w for w in client.get("/v1/workflows").json()["workflows"] if w["_id"] == workflow_id
        )
        assert "nodes" not in summary and "edges" not in summary

        assert client.get(f"/v1/workflows/{workflow_id}").json()["nodes"] == body["nodes"]

        updated = client.put(
            f"/v1/workflows/{workflow_id}", json={"enabled": False, "description": "paused"}
        )
        assert updated.status_code == 200
        assert updated.json()["enabled"] is False and updated.json()["description"] == "paused"
        assert updated.json()["nodes"] == body["nodes"]
        refused = client.post(f"/v1/workflows/{workflow_id}/run", json={"data": {}})
        assert refused.status_code == 409

        assert client.delete(f"/v1/workflows/{workflow_id}").json() == {"success": True}
        assert client.get(f"/v1/workflows/{workflow_id}").status_code == 404


def test_run_completes_with_step_results(server: Server) -> None:
    with server.client() as client:
        workflow_id = client.post("/v1/workflows", json=CHAIN).json()["id"]
        started = client.post(f"/v1/workflows/{workflow_id}/run", json={"data": {"building": "A"}})
        assert started.status_code == 200
        assert started.json()["status"] == "pending" and started.json()["message"]
        run = _wait(client, workflow_id, started.json()["runId"])
        assert run["status"] == "completed", run
        assert run["triggerData"] == {"building": "A"}
        steps = {s["nodeId"]: s for s in run["stepResults"]}
        assert list(steps) == ["fetch", "check", "analyze"]
        assert steps["fetch"]["result"] == {"b": "A"}
        assert steps["check"]["result"] is True
        assert "report on A" in steps["analyze"]["result"]
        assert all(
            s["status"] == "success" and s["startedAt"] <= s["completedAt"] for s in steps.values()
        )
        listed = client.get(f"/v1/workflows/{workflow_id}/runs", params={"limit": 5}).json()["runs"]
        assert [r["_id"] for r in listed] == [run["_id"]]


def test_bad_requests_name_the_field(server: Server) -> None:
    with server.client() as client:
        missing_name = client.post("/v1/workflows", json={"nodes": []})
        assert missing_name.status_code == 400 and "name" in missing_name.json()["message"]
        dangling = client.post(
            "/v1/workflows",
            json={
                "name": "x",
                "nodes": [{"id": "a", "type": "tool-call", "config": {"tool": "echo"}}],
                "edges": [{"from": "a", "to": "ghost"}],
            },
        )
        assert dangling.status_code == 400 and "ghost" in dangling.json()["message"]
        assert client.post("/v1/workflows", content=b"{not json").status_code == 400
        assert client.get("/v1/workflows/nope/runs", params={"limit": 0}).status_code == 400


def test_scopes_are_enforced(server: Server) -> None:
    reader = _key(server, "read")
    with server.client(reader) as client:
        assert client.get("/v1/workflows").status_code == 200
        assert client.post("/v1/workflows", json=CHAIN).status_code == 403
        assert client.get("/v1/keys").status_code == 403


def test_tenants_are_isolated(server: Server) -> None:
    other = _key(server, "write", tenant="new")
    with server.client() as mine, server.client(other) as theirs:
        workflow_id = mine.post("/v1/workflows", json=CHAIN).json()["id"]
        run_id = mine.post(
            f"/v1/workflows/{workflow_id}/run", json={"data": {"building": "A"}}
        ).json()["runId"]
        assert theirs.get(f"/v1/workflows/{workflow_id}").status_code == 404
        assert theirs.post(f"/v1/workflows/{workflow_id}/run", json={}).status_code == 404
        assert theirs.get(f"/v1/workflows/{workflow_id}/runs/{run_id}").status_code == 404
        assert workflow_id not in [
            w["_id"] for w in theirs.get("/v1/workflows").json()["workflows"]
        ]


def test_keys_are_shown_once_and_can_be_revoked(server: Server) -> None:
    with server.client() as admin:
        created = admin.post("/v1/keys", json={"name": "ci", "scopes": ["read"]}).json()
        listed = admin.get("/v1/keys").json()["keys"]
        entry = next(k for k in listed if k["keyId"] == created["keyId"])
        assert "key" not in entry and created["key"].startswith(entry["prefix"])
        assert admin.delete(f"/v1/keys/{created['keyId']}").json() == {"success": True}
    with server.client(created["key"]) as revoked:
        assert revoked.get("/v1/workflows").status_code == 401


def test_the_api_document_and_swagger_ui_are_served_without_a_key(server: Server) -> None:
    document = httpx.get(f"{server.base_url}/openapi.json")
    swagger = httpx.get(f"{server.base_url}/swagger")
    anything_else = httpx.get(f"{server.base_url}/v1/workflows")

    assert (
        document.status_code == 200
        and "/v1/workflows/{workflow_id}/run" in document.json()["paths"]
    )
    assert swagger.status_code == 200 and swagger.headers["content-type"].startswith("text/html")
    # Powertools' own UI, its assets inlined: nothing is fetched from elsewhere.
    assert "SwaggerUIBundle" in swagger.text and "unpkg.com" not in swagger.text
    assert anything_else.status_code == 401
