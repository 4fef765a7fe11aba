"""The service API against the real local server (`python -m local`), spoken to by the
unchanged Dify Python SDK (dify-python-sdk) and by an independent SSE client."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from dify_client import DifyClient, WorkflowClient
from httpx_sse import connect_sse

from tests.http_stub import slow_server
from tests.local_server import Server
from tests.service import dsl

pytestmark = pytest.mark.xdist_group("local-server")


def sse_chunks(text: str) -> list[dict[str, Any]]:
    return [
        json.loads(line[6:])
        for block in text.split("\n\n")
        for line in block.splitlines()
        if line.startswith("data: ")
    ]


@pytest.fixture(scope="module")
def sleepy() -> Iterator[str]:
    with slow_server() as slow:
        yield slow.url


def new_app(server: Server, document: str) -> tuple[str, str]:
    with server.client() as admin:
        created = admin.post("/v1/workflows/import", json={"yaml_content": document})
        assert created.status_code == 201, created.text
        workflow_id = created.json()["id"]
        key = admin.post(f"/v1/workflows/{workflow_id}/keys", json={"name": "sdk"})
        assert key.status_code == 201, key.text
        return workflow_id, key.json()["key"]


def client(server: Server, key: str) -> WorkflowClient:
    return WorkflowClient(key, base_url=f"{server.base_url}/v1", max_retries=0)


def test_blocking_run_and_its_result(server: Server) -> None:
    workflow_id, key = new_app(server, dsl.passthrough())
    with client(server, key) as sdk:
        answer = sdk.run({"query": "hello sdk"}, response_mode="blocking", user="alice").json()
        result = sdk.get_result(answer["workflow_run_id"]).json()

    assert answer["data"]["status"] == "succeeded"
    assert answer["data"]["outputs"] == {"query": "hello sdk"}
    assert answer["data"]["workflow_id"] == f"{workflow_id}-v1"
    assert result["id"] == answer["workflow_run_id"]
    assert result["status"] == "succeeded"
    assert result["inputs"]["query"] == "hello sdk"
    assert result["inputs"]["sys.user_id"] == "alice"


def test_streaming_run(server: Server) -> None:
    _, key = new_app(server, dsl.chain(3))
    with client(server, key) as sdk:
        response = sdk.run({"query": "s"}, response_mode="streaming", user="alice")

    assert response.headers["content-type"].startswith("text/event-stream")
    chunks = sse_chunks(response.text)
    assert chunks[0]["event"] == "workflow_started"
    assert chunks[-1]["event"] == "workflow_finished"
    assert chunks[-1]["data"]["outputs"] == {"result": "s-1-2-3"}
    assert [c["event"] for c in chunks].count("node_finished") == 5


def test_run_a_specific_published_version(server: Server) -> None:
    workflow_id, key = new_app(server, dsl.passthrough())
    with client(server, key) as sdk:
        answer = sdk.run_specific_workflow(
            f"{workflow_id}-v1", {"query": "pinned"}, response_mode="blocking", user="alice"
        ).json()
    assert answer["data"]["outputs"] == {"query": "pinned"}


def test_stop_a_running_task(server: Server, sleepy: str) -> None:
    _, key = new_app(server, dsl.slow())
    body = {"inputs": {"url": f"{sleepy}/sleep?s=2"}, "user": "alice", "response_mode": "streaming"}
    with client(server, key) as sdk, httpx.Client(base_url=server.base_url, timeout=30) as http:
        with connect_sse(
            http, "POST", "/v1/workflows/run", json=body, headers={"Authorization": f"Bearer {key}"}
        ) as source:
            events = source.iter_sse()
            task_id = ""
            for event in events:
                chunk = json.loads(event.data) if event.data else {}
                if chunk.get("event") == "node_started" and chunk["data"]["node_id"] == "call":
                    task_id = chunk["task_id"]
                    assert sdk.stop(task_id, "alice").json() == {"result": "success"}
                    break
            rest = [json.loads(e.data) for e in events if e.data]
        assert rest[-1]["event"] == "workflow_finished"
        assert rest[-1]["data"]["status"] == "stopped"
        assert sdk.get_result(task_id).json()["status"] == "stopped"


def test_workflow_logs(server: Server) -> None:
    _, key = new_app(server, dsl.passthrough())
    with client(server, key) as sdk:
        for n in range(3):
            sdk.run({"query": f"log {n}"}, response_mode="blocking", user="bob")
        page = sdk.get_workflow_logs(page=1, limit=2).json()
        searched = sdk.get_workflow_logs(keyword="log 1").json()
        succeeded = sdk.get_workflow_logs(status="succeeded").json()

    assert page["total"] == 3
    assert page["has_more"] is True
    assert len(page["data"]) == 2
    assert page["data"][0]["created_by_end_user"]["session_id"] == "bob"
    assert searched["total"] == 1
    assert succeeded["total"] == 3


def test_file_upload_and_use_in_a_run(server: Server) -> None:
    _, key = new_app(server, dsl.passthrough())
    content = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    with client(server, key) as sdk:
        uploaded = sdk.file_upload("alice", {"file": ("pic.png", content, "image/png")}).json()
        ref = {"type": "image", "transfer_method": "local_file", "upload_file_id": uploaded["id"]}
        # The SDK's run() has no `files`: the request is the same JSON with it added.
        run = httpx.post(
            f"{server.base_url}/v1/workflows/run",
            headers={"Authorization": f"Bearer {key}"},
            json={"inputs": {"query": "f"}, "user": "alice", "files": [ref]},
            timeout=30,
        ).json()
        result = sdk.get_result(run["workflow_run_id"]).json()

    assert uploaded["name"] == "pic.png"
    assert uploaded["size"] == len(content)
    assert uploaded["extension"] == "png"
    assert result["inputs"]["sys.files"][0]["related_id"] == uploaded["id"]


def test_application_parameters_and_info(server: Server) -> None:
    _, key = new_app(server, dsl.passthrough())
    with client(server, key) as sdk:
        parameters = sdk.get_application_parameters("alice").json()
    with DifyClient(key, base_url=f"{server.base_url}/v1", max_retries=0) as base:
        info = base.get_app_info().json()

    assert parameters["user_input_form"][0]["text-input"]["variable"] == "query"
    assert parameters["system_parameters"]["file_size_limit"] == 15
    assert info["name"] == "echo"
    assert info["tags"] == []


def test_sdk_errors_carry_the_specs_codes(server: Server) -> None:
    from dify_client.exceptions import APIError

    _, key = new_app(server, dsl.passthrough())
    with client(server, key) as sdk, pytest.raises(APIError) as refused:
        sdk.run({}, response_mode="blocking", user="alice")
    assert refused.value.status_code == 400
    assert "query is required" in str(refused.value)


def test_an_independent_sse_client_sees_order_and_fields(server: Server, sleepy: str) -> None:
    """httpx-sse over TCP: events arrive while the run goes on, in the spec's shape."""
    _, key = new_app(server, dsl.slow())
    body = {"inputs": {"url": f"{sleepy}/sleep?s=1"}, "user": "carol", "response_mode": "streaming"}
    arrivals: list[tuple[float, dict[str, Any]]] = []
    started = time.monotonic()
    with (
        httpx.Client(base_url=server.base_url, timeout=30) as http,
        connect_sse(
            http, "POST", "/v1/workflows/run", json=body, headers={"Authorization": f"Bearer {key}"}
        ) as source,
    ):
        for event in source.iter_sse():
            if event.data:
                arrivals.append((time.monotonic() - started, json.loads(event.data)))

    kinds = [chunk["event"] for _, chunk in arrivals]
    assert kinds == [
        "workflow_started",
        "node_started", "node_finished",  # start
        "node_started", "node_finished",  # the slow call
        "node_started", "text_chunk", "node_finished",  # end
        "workflow_finished",
    ]  # fmt: skip
    start_done = arrivals[2][0]
    call_done = arrivals[4][0]
    assert call_done - start_done >= 0.8  # streamed as it happened, not all at the end
    for _, chunk in arrivals:
        assert chunk["task_id"] == chunk["workflow_run_id"] == arrivals[0][1]["workflow_run_id"]
    call = arrivals[4][1]["data"]
    assert call["node_type"] == "http-request"
    assert call["predecessor_node_id"] == "start"
    assert call["outputs"]["status_code"] == 200
    assert {"total_tokens", "total_price", "currency"} <= set(call["execution_metadata"])
