"""Streaming mode: the run's event log as Dify's server-sent events."""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import httpx
from httpx_sse import ServerSentEvent, connect_sse
from starlette.testclient import TestClient

from functions.api.handler import handler as api_handler
from functions.core.data import runs as run_store
from functions.core.model.run import EventType, StepEvent
from functions.core.services import service_runs
from functions.stream import app as stream_function
from functions.stream.sse import SETTLE_SECONDS, RunStream
from tests.service import dsl
from tests.service.conftest import TENANT, Service

NODE_STARTED_FIELDS = {
    "id", "node_id", "node_type", "title", "index", "predecessor_node_id", "inputs", "created_at",
}  # fmt: skip
NODE_FINISHED_FIELDS = NODE_STARTED_FIELDS | {
    "process_data", "outputs", "status", "error", "elapsed_time", "execution_metadata",
    "finished_at", "files",
}  # fmt: skip
WORKFLOW_FINISHED_FIELDS = {
    "id", "workflow_id", "status", "outputs", "error", "elapsed_time", "total_tokens",
    "total_steps", "created_at", "finished_at", "files",
}  # fmt: skip


def stream(
    service: Service, key: str, inputs: dict[str, Any], path: str = "/v1/workflows/run"
) -> list[ServerSentEvent]:
    body = {"inputs": inputs, "user": "u1", "response_mode": "streaming"}
    headers = {"Authorization": f"Bearer {key}"}
    with connect_sse(service.client, "POST", path, json=body, headers=headers) as source:
        assert source.response.status_code == 200, source.response.read()
        assert source.response.headers["content-type"].startswith("text/event-stream")
        return list(source.iter_sse())


def payloads(events: list[ServerSentEvent]) -> list[dict[str, Any]]:
    return [json.loads(e.data) for e in events if e.data]


def test_events_come_in_order_with_every_field(service: Service) -> None:
    workflow_id, key = service.new_app(dsl.chain(3))

    chunks = payloads(stream(service, key, {"query": "q"}))

    kinds = [c["event"] for c in chunks]
    nodes = ["start", "t1", "t2", "t3", "end"]
    expected = ["workflow_started"]
    for node in nodes:
        expected += ["node_started", *(["text_chunk"] if node == "end" else []), "node_finished"]
    assert kinds == [*expected, "workflow_finished"]
    run_id = chunks[0]["workflow_run_id"]
    for c in chunks:
        assert c["task_id"] == c["workflow_run_id"] == run_id

    started = chunks[0]["data"]
    assert set(started) == {"id", "workflow_id", "sequence_number", "inputs", "created_at"}
    assert started["id"] == run_id
    assert started["workflow_id"] == f"{workflow_id}-v1"
    assert started["sequence_number"] == 1
    assert isinstance(started["created_at"], int)

    node_started = [c["data"] for c in chunks if c["event"] == "node_started"]
    node_finished = [c["data"] for c in chunks if c["event"] == "node_finished"]
    for data in node_started:
        assert set(data) == NODE_STARTED_FIELDS
    for data in node_finished:
        assert set(data) == NODE_FINISHED_FIELDS
        assert data["status"] == "succeeded"
        assert set(data["execution_metadata"]) == {"total_tokens", "total_price", "currency"}
        assert isinstance(data["elapsed_time"], float)
    assert [d["node_id"] for d in node_started] == nodes
    assert [d["index"] for d in node_started] == [1, 2, 3, 4, 5]
    assert [d["predecessor_node_id"] for d in node_started] == [None, *nodes[:-1]]
    assert [d["id"] for d in node_started] == [d["id"] for d in node_finished]
    assert len({d["id"] for d in node_started}) == 5
    assert node_finished[1]["node_type"] == "template-transform"
    assert node_finished[1]["title"] == "Step 1"
    assert node_finished[3]["outputs"] == {"output": "q-1-2-3"}

    text = next(c["data"] for c in chunks if c["event"] == "text_chunk")
    assert text == {"text": "q-1-2-3", "from_variable_selector": ["end", "result"]}

    finished = chunks[-1]["data"]
    assert set(finished) == WORKFLOW_FINISHED_FIELDS
    assert finished["status"] == "succeeded"
    assert finished["outputs"] == {"result": "q-1-2-3"}
    assert finished["total_steps"] == 5
    assert finished["finished_at"] >= finished["created_at"]


def test_a_failing_node_streams_failed_events(service: Service) -> None:
    _, key = service.new_app(dsl.failing())

    chunks = payloads(stream(service, key, {"query": "x"}))

    boom = [
        c["data"]
        for c in chunks
        if c["event"] == "node_finished" and c["data"]["node_id"] == "boom"
    ]
    assert boom and boom[-1]["status"] == "failed"
    assert boom[-1]["error"]
    assert chunks[-1]["event"] == "workflow_finished"
    assert chunks[-1]["data"]["status"] == "failed"
    assert chunks[-1]["data"]["error"]


def test_sequence_numbers_count_the_apps_runs(service: Service) -> None:
    _, key = service.new_app(dsl.passthrough())
    numbers = [
        payloads(stream(service, key, {"query": str(n)}))[0]["data"]["sequence_number"]
        for n in range(3)
    ]
    assert numbers == [1, 2, 3]


def test_the_version_route_streams_too(service: Service) -> None:
    workflow_id, key = service.new_app(dsl.passthrough())
    chunks = payloads(stream(service, key, {"query": "v"}, f"/v1/workflows/{workflow_id}-v1/run"))
    assert chunks[-1]["data"]["outputs"] == {"query": "v"}


def test_events_arrive_as_nodes_finish_not_at_the_end(live: Service, sleepy: str) -> None:
    """Over TCP: the first node's events arrive while the slow node still runs."""
    _, key = live.new_app(dsl.slow())
    body = {"inputs": {"url": f"{sleepy}/sleep?s=1.5"}, "user": "u1", "response_mode": "streaming"}
    arrivals: list[tuple[float, str]] = []
    started = time.monotonic()
    with connect_sse(
        live.client,
        "POST",
        "/v1/workflows/run",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
    ) as source:
        for event in source.iter_sse():
            if event.data:
                arrivals.append((time.monotonic() - started, json.loads(event.data)["event"]))

    first_node_done = next(t for t, kind in arrivals if kind == "node_finished")
    workflow_done = arrivals[-1][0]
    assert arrivals[-1][1] == "workflow_finished"
    assert workflow_done - first_node_done >= 1.2


def test_a_client_that_leaves_does_not_stop_the_run(live: Service, sleepy: str) -> None:
    _, key = live.new_app(dsl.slow())
    body = {"inputs": {"url": f"{sleepy}/sleep?s=1"}, "user": "u1", "response_mode": "streaming"}
    with connect_sse(
        live.client,
        "POST",
        "/v1/workflows/run",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
    ) as source:
        first = json.loads(next(e for e in source.iter_sse() if e.data).data)
    # Disconnected after the first event; the run finishes and is found by its id.
    detail = live.wait_for(key, first["workflow_run_id"])
    assert detail["status"] == "succeeded"
    assert detail["outputs"] == {"body": '{"slept": true}'}


def test_a_dropped_stream_resumes_after_its_last_event_id_missing_and_repeating_none(
    live: Service, sleepy: str
) -> None:
    _, key = live.new_app(dsl.slow())
    body = {"inputs": {"url": f"{sleepy}/sleep?s=1"}, "user": "u1", "response_mode": "streaming"}
    auth = {"Authorization": f"Bearer {key}"}
    with connect_sse(live.client, "POST", "/v1/workflows/run", json=body, headers=auth) as source:
        # Dropped after the first two events, while the slow node still runs.
        before = list(itertools.islice((e for e in source.iter_sse() if e.data), 2))
    run_id = json.loads(before[0].data)["workflow_run_id"]
    events = f"/v1/workflows/run/{run_id}/events"
    with connect_sse(
        live.client, "GET", events, headers={**auth, "Last-Event-ID": before[-1].id}
    ) as source:
        after = [e for e in source.iter_sse() if e.data]
    with connect_sse(live.client, "GET", events, headers=auth) as source:
        whole = [e for e in source.iter_sse() if e.data]

    resumed = [(e.id, json.loads(e.data)) for e in before + after]
    assert [e.id for e in before + after] == [e.id for e in whole]
    assert resumed == [(e.id, json.loads(e.data)) for e in whole]
    assert len({event_id for event_id, _ in resumed}) == len(resumed)
    assert resumed[-1][1]["event"] == "workflow_finished"
    stranger = live.client.get(events, headers={"Authorization": "Bearer app-nope"})
    assert stranger.status_code == 401


def test_pings_keep_a_quiet_stream_alive(
    service: Service, sleepy: str, env: Callable[..., None]
) -> None:
    env(SERVICE_PING_SECONDS="0.2")
    _, key = service.new_app(dsl.slow())

    events = stream(service, key, {"url": f"{sleepy}/sleep?s=1"})

    pings = [e for e in events if e.event == "ping"]
    assert len(pings) >= 3
    assert all(e.data == "" for e in pings)
    assert json.loads(events[-1].data)["event"] == "workflow_finished"


def test_a_stream_that_outlives_its_bound_ends_with_an_error_event(
    service: Service, sleepy: str, env: Callable[..., None]
) -> None:
    env(SERVICE_STREAM_SECONDS="0.5")
    _, key = service.new_app(dsl.slow())

    chunks = payloads(stream(service, key, {"url": f"{sleepy}/sleep?s=1.5"}))

    last = chunks[-1]
    assert last["event"] == "error"
    assert last["code"] == "stream_timeout"
    assert last["status"] == 504
    assert last["workflow_run_id"] in last["message"]
    assert service.wait_for(key, last["workflow_run_id"])["status"] == "succeeded"


def test_a_stop_ends_the_stream_with_workflow_finished_stopped(live: Service, sleepy: str) -> None:
    _, key = live.new_app(dsl.slow())
    body = {"inputs": {"url": f"{sleepy}/sleep?s=2"}, "user": "u1", "response_mode": "streaming"}
    seen: list[dict[str, Any]] = []
    with connect_sse(
        live.client,
        "POST",
        "/v1/workflows/run",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
    ) as source:
        for event in source.iter_sse():
            chunk = json.loads(event.data) if event.data else {}
            seen.append(chunk)
            if chunk.get("event") == "node_started" and chunk["data"]["node_id"] == "call":
                answer = live.app(
                    key, "POST", f"/v1/workflows/tasks/{chunk['task_id']}/stop", json={"user": "u1"}
                )
                assert answer.json() == {"result": "success"}
    assert seen[-1]["event"] == "workflow_finished"
    assert seen[-1]["data"]["status"] == "stopped"
    call = [c for c in seen if c.get("event") == "node_finished" and c["data"]["node_id"] == "call"]
    assert call and call[-1]["data"]["status"] == "failed"


def _buffered(path: str, body: dict[str, Any], authorizer: dict[str, str]) -> list[Any]:
    """The api function's answer to a POST whose body asks for a stream, as its chunks."""
    event = {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": "POST",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": "POST",
            "requestId": "test",
            "authorizer": {"tenantId": TENANT, "keyId": "k", **authorizer},
        },
        "body": base64.b64encode(json.dumps(body).encode()).decode(),
        "isBase64Encoded": True,
    }
    context = SimpleNamespace(
        function_name="api", memory_limit_in_mb=512, invoked_function_arn="arn", aws_request_id="t"
    )
    answer = api_handler(event, context)
    assert answer["statusCode"] == 200, answer
    assert answer["multiValueHeaders"]["Content-Type"] == ["text/event-stream"]
    return [
        json.loads(line[6:])
        for block in answer["body"].split("\n\n")
        for line in block.splitlines()
        if line.startswith("data: ")
    ]


def test_the_api_function_answers_the_whole_stream_at_once(service: Service) -> None:
    """Without the stream function (a buffered transport) the same events come in one body."""
    workflow_id, _ = service.new_app(dsl.passthrough())
    body = {"inputs": {"query": "b"}, "user": "u1", "response_mode": "streaming"}

    chunks = _buffered(
        "/v1/workflows/run", body, {"scopes": "", "kind": "app", "workflowId": workflow_id}
    )

    assert chunks[0]["event"] == "workflow_started"
    assert chunks[-1]["data"]["outputs"] == {"query": "b"}


def test_the_api_function_answers_a_whole_cortex_stream_too(service: Service) -> None:
    workflow_id, _ = service.new_app(dsl.passthrough())
    path = f"/apps/{TENANT}/workflows/{workflow_id}/runs"
    body = {"input": {"query": "c"}, "stream": True}

    objects = _buffered(path, body, {"scopes": "write", "kind": "account"})

    assert len({o["id"] for o in objects}) == 1
    assert objects[-1]["status"] == "COMPLETED"
    assert objects[-1]["output"] == {"query": "c"}


def test_the_stream_function_reads_the_caller_from_the_adapters_header(service: Service) -> None:
    """What the Lambda Web Adapter sends: the request context in x-amzn-request-context."""
    workflow_id, _ = service.new_app(dsl.passthrough())
    context = {
        "authorizer": {
            "tenantId": TENANT,
            "keyId": "k",
            "scopes": "",
            "kind": "app",
            "workflowId": workflow_id,
        }
    }
    body = {"inputs": {"query": "lwa"}, "user": "u1"}
    with TestClient(stream_function.app) as client:
        allowed = client.post(
            "/v1/workflows/run", json=body, headers={"x-amzn-request-context": json.dumps(context)}
        )
        anonymous = client.post("/v1/workflows/run", json=body)

    assert allowed.json()["data"]["outputs"] == {"query": "lwa"}
    assert anonymous.status_code == 403


def test_an_event_is_held_back_until_a_concurrent_writer_cannot_still_precede_it(
    service: Service, monkeypatch: Any
) -> None:
    """Writers take a position, then store: a later position may be visible first."""
    workflow_id, key = service.new_app(dsl.passthrough())
    run = service_runs.get(
        service_runs.App(TENANT, workflow_id),
        service.run(key, {"query": "g"}).json()["workflow_run_id"],
    )
    old = run_store.position() - 10**9  # a second ago
    log = [
        StepEvent(seq=old, type=EventType.WORKFLOW_STARTED, at=run.created_at),
        StepEvent(
            seq=run_store.position(),
            type=EventType.NODE_STARTED,
            at=run.created_at,
            node_id="a",
            node_type="start",
            title="A",
        ),
    ]
    monkeypatch.setattr(service_runs, "log", lambda _run, after: [e for e in log if e.seq > after])
    events = RunStream(run, None, 60)

    first = events.poll()
    assert [_event(c) for c in first] == ["workflow_started"]  # the node's start is too young
    time.sleep(SETTLE_SECONDS)
    second = events.poll()
    assert [_event(c) for c in second] == ["node_started"]


def _event(chunk: str) -> str:
    """The event name of one SSE chunk (`id: …` then `data: {…}`)."""
    (data,) = [line[6:] for line in chunk.splitlines() if line.startswith("data: ")]
    name: str = json.loads(data)["event"]
    return name


def test_concurrent_streams_are_independent(live: Service) -> None:
    _, key = live.new_app(dsl.passthrough())
    results: list[str] = []

    def one(n: int) -> None:
        body = {"inputs": {"query": f"c{n}"}, "user": "u1", "response_mode": "streaming"}
        with (
            httpx.Client(base_url=str(live.client.base_url), timeout=30) as client,
            connect_sse(
                client,
                "POST",
                "/v1/workflows/run",
                json=body,
                headers={"Authorization": f"Bearer {key}"},
            ) as source,
        ):
            last = [json.loads(e.data) for e in source.iter_sse() if e.data][-1]
            results.append(last["data"]["outputs"]["query"])

    threads = [threading.Thread(target=one, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [f"c{n}" for n in range(5)]
