"""Idempotency-Key on every route that starts runs, and on events, over real HTTP: a
retry with the same key and body gets the first outcome, another body answers 409."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.local_server import Server
from tests.service import dsl

pytestmark = pytest.mark.xdist_group("local-server")

ECHO = [{"id": "echo", "type": "tool-call", "config": {"tool": "echo", "input": {"x": "1"}}}]


def _key() -> dict[str, str]:
    return {"Idempotency-Key": f"retry-{uuid.uuid4().hex}"}


def _workflow(client: httpx.Client) -> str:
    created = client.post("/v1/workflows", json={"name": "idempotent", "nodes": ECHO})
    assert created.status_code == 201, created.text
    workflow_id: str = created.json()["id"]
    return workflow_id


def test_a_retried_v1_run_is_the_first_run_and_another_body_is_refused(server: Server) -> None:
    with server.client() as client:
        workflow_id = _workflow(client)
        key = _key()
        path = f"/v1/workflows/{workflow_id}/run"

        first = client.post(path, json={"data": {"n": 1}}, headers=key)
        again = client.post(path, json={"data": {"n": 1}}, headers=key)
        other = client.post(path, json={"data": {"n": 2}}, headers=key)
        fresh = client.post(path, json={"data": {"n": 1}}, headers=_key())
        bad = client.post(path, json={"data": {}}, headers={"Idempotency-Key": "x" * 300})
        runs = client.get(f"/v1/workflows/{workflow_id}/runs").json()["runs"]

    assert first.status_code == again.status_code == 200
    assert again.json()["runId"] == first.json()["runId"]
    assert other.status_code == 409 and "another body" in other.json()["message"]
    assert fresh.json()["runId"] != first.json()["runId"]
    assert bad.status_code == 400 and "Idempotency-Key" in bad.json()["message"]
    assert len(runs) == 2  # the retry and the refused body started nothing


def test_dify_cortex_canvas_and_events_take_the_key_too(server: Server) -> None:
    with server.client() as client:
        imported = client.post("/v1/workflows/import", json={"yaml_content": dsl.passthrough()})
        workflow_id = imported.json()["id"]
        app_key = client.post(f"/v1/workflows/{workflow_id}/keys").json()["key"]
        app = {"Authorization": f"Bearer {app_key}"}
        dify_key, cortex_key, event_key = _key(), _key(), _key()
        body = {"inputs": {"query": "q"}, "user": "u", "response_mode": "blocking"}
        dify = [
            httpx.post(
                f"{server.base_url}/v1/workflows/run", json=body, headers={**app, **dify_key}
            )
            for _ in range(2)
        ]
        app_id = client.get("/apps").json()["data"][0]["id"]
        cortex_path = f"/apps/{app_id}/workflows/{workflow_id}/runs"
        cortex = [
            client.post(cortex_path, json={"input": {"query": "c"}}, headers=cortex_key)
            for _ in range(2)
        ]
        canvas_key = _key()
        canvas_body = {"id": workflow_id, "inputs": {"query": "d"}}
        canvas = [
            client.post("/workflow/canvas/run", json=canvas_body, headers=canvas_key)
            for _ in range(2)
        ]
        event = {"type": f"idempotent.{uuid.uuid4().hex}", "data": {}}
        events = [client.post("/v1/events", json=event, headers=event_key) for _ in range(2)]

    assert dify[0].json()["workflow_run_id"] == dify[1].json()["workflow_run_id"]
    assert dify[1].json()["data"]["status"] == "succeeded"
    assert cortex[0].json()["id"] == cortex[1].json()["id"]
    assert canvas[0].json()["id"] == canvas[1].json()["id"]
    assert events[0].status_code == events[1].status_code == 202
    assert events[0].json()["eventId"] == events[1].json()["eventId"]
