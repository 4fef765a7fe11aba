"""The Cortex face over real HTTP: apps, workflows, versions, runs, replay, cancel,
retention and discoverable workflows across tenants."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.local_server import Server

pytestmark = pytest.mark.xdist_group("local-server")


class _Counting(BaseHTTPRequestHandler):
    """Counts the GETs it answers; `?s=` makes it answer after that many seconds."""

    calls = 0

    def do_GET(self) -> None:
        type(self).calls += 1
        time.sleep(float(parse_qs(urlparse(self.path).query).get("s", ["0"])[0]))
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def counter() -> Iterator[str]:
    _Counting.calls = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def owner(server: Server) -> httpx.Client:
    return server.client()


@pytest.fixture
def stranger(server: Server, owner: httpx.Client) -> httpx.Client:
    body = {"name": "stranger", "scopes": ["write"], "tenant": "new"}
    return server.client(owner.post("/v1/keys", json=body).json()["key"])


def _app(client: httpx.Client) -> str:
    app_id: str = client.get("/apps").json()["data"][0]["id"]
    return app_id


def _workflow(client: httpx.Client, url: str, **fields: Any) -> str:
    nodes = [
        {"id": "fetch", "type": "http-request", "config": {"url": url}},
        {
            "id": "shape",
            "type": "tool-call",
            "config": {"tool": "echo", "input": {"x": "{{trigger.data.x}}"}},
        },
        {
            "id": "last",
            "type": "tool-call",
            "config": {"tool": "echo", "input": {"y": "{{shape.result.x}}"}},
        },
    ]
    edges = [{"from": "fetch", "to": "shape"}, {"from": "shape", "to": "last"}]
    body = {"name": "cortex", "description": "d", "nodes": nodes, "edges": edges, **fields}
    created = client.post("/v1/workflows", json=body)
    assert created.status_code == 201, created.text
    workflow_id: str = created.json()["id"]
    return workflow_id


def test_apps_workflows_and_versions(owner: httpx.Client, counter: str) -> None:
    app = _app(owner)
    workflow_id = _workflow(owner, f"{counter}/x")
    base = f"/apps/{app}/workflows"

    listed = owner.get(base, params={"take": 1}).json()
    one = owner.get(f"{base}/{workflow_id}").json()
    versions = owner.get(f"{base}/{workflow_id}/versions").json()
    by_number = owner.get(f"{base}/{workflow_id}/versions/1").json()
    by_id = owner.get(f"{base}/{workflow_id}/versions/{workflow_id}-v1").json()
    foreign = owner.get(f"/apps/not-{app}/workflows")

    assert len(listed["data"]) == 1 and listed["pagination"]["take"] == 1
    assert listed["pagination"]["count"] >= 1
    assert one["id"] == workflow_id and one["version"] == 1
    assert versions["data"][0]["version"] == 1
    assert by_number == by_id
    assert [s["key"] for s in by_number["steps"]] == ["fetch", "shape", "last"]
    assert by_number["steps"][0]["destinations"] == ["shape"]
    assert by_number["steps"][0]["throw_on_error"] is True
    assert foreign.status_code == 404


def test_run_blocking_background_list_and_get(owner: httpx.Client, counter: str) -> None:
    app = _app(owner)
    workflow_id = _workflow(owner, f"{counter}/x")
    runs = f"/apps/{app}/workflows/{workflow_id}/runs"

    blocking = owner.post(runs, json={"input": {"x": "a"}}).json()
    background = owner.post(runs, json={"input": {"x": "b"}, "background": True}).json()
    listed = owner.get(runs).json()
    read = owner.get(f"{runs}/{blocking['id']}").json()

    assert blocking["status"] == "COMPLETED", blocking
    assert blocking["output"] == {"last": {"y": "a"}}
    assert blocking["input"] == {"x": "a"}
    assert blocking["workflow_version"]["version"] == 1
    assert blocking["usage"] == {"total": 0, "calls": [], "steps": {}}
    assert background["status"] in ("PENDING", "RUNNING")
    assert {r["id"] for r in listed["data"]} >= {blocking["id"], background["id"]}
    assert read["id"] == blocking["id"] and read["status"] == "COMPLETED"


def test_replay_reuses_upstream_outputs_and_reruns_from_the_step(
    owner: httpx.Client, counter: str
) -> None:
    app = _app(owner)
    workflow_id = _workflow(owner, f"{counter}/count")
    runs = f"/apps/{app}/workflows/{workflow_id}/runs"
    original = owner.post(runs, json={"input": {"x": "a"}}).json()

    replayed = owner.post(f"{runs}/{original['id']}/replay", json={"stepKey": "shape"}).json()
    unknown = owner.post(f"{runs}/{original['id']}/replay", json={"stepKey": "nope"})

    assert replayed["status"] == "COMPLETED", replayed
    assert replayed["id"] != original["id"]
    assert replayed["replay_of"] == {"run_id": original["id"], "step_key": "shape"}
    assert replayed["output"] == original["output"]
    assert _Counting.calls == 1  # the HTTP call upstream of the step is not made again
    assert unknown.status_code == 400 and "nope" in unknown.json()["message"]


def test_cancel_mid_run_and_a_finished_run_answers_409(owner: httpx.Client, counter: str) -> None:
    app = _app(owner)
    workflow_id = _workflow(owner, f"{counter}/slow?s=3")
    runs = f"/apps/{app}/workflows/{workflow_id}/runs"
    started = owner.post(runs, json={"input": {"x": "a"}, "background": True}).json()
    while _Counting.calls == 0:
        time.sleep(0.05)  # until the slow node is in flight

    cancelled = owner.post(f"{runs}/{started['id']}/cancel").json()
    again = owner.post(f"{runs}/{started['id']}/cancel")
    time.sleep(3.5)  # the slow node's late answer arrives
    later = owner.get(f"/v1/workflows/{workflow_id}/runs/{started['id']}").json()

    assert cancelled["status"] == "CANCELLED"
    assert again.status_code == 409 and "stopped" in again.json()["message"]
    assert [s["nodeId"] for s in later["stepResults"]] == ["fetch"]  # nothing ran after
    assert later["stepResults"][0]["status"] == "failed"  # closed as stopped, late result dropped


def test_retention_sets_the_due_time(owner: httpx.Client, counter: str) -> None:
    app = _app(owner)
    workflow_id = _workflow(owner, f"{counter}/x")
    runs = f"/apps/{app}/workflows/{workflow_id}/runs"
    run = owner.post(runs, json={"input": {"x": "a"}}).json()

    patched = owner.patch(
        f"{runs}/{run['id']}/retention",
        json={"max_age_in_seconds": 3600, "preserve_on_failure": True},
    ).json()
    refused = owner.patch(f"{runs}/{run['id']}/retention", json={"max_age_in_seconds": 0})

    assert patched["retention"] == {"max_age_in_seconds": 3600, "preserve_on_failure": True}
    assert patched["retention_due_at"] > run["created_at"]
    assert refused.status_code == 400 and "max_age_in_seconds" in refused.json()["message"]


def test_discoverable_workflows_across_tenants(
    owner: httpx.Client, stranger: httpx.Client, counter: str
) -> None:
    owner_app, stranger_app = _app(owner), _app(stranger)
    workflow_id = _workflow(owner, f"{counter}/x")
    hidden = _workflow(owner, f"{counter}/x")
    owner.put(f"/v1/workflows/{workflow_id}", json={"discoverable": True})
    discover = f"/apps/{stranger_app}/workflows/discover"

    listed = stranger.get(discover, params={"take": 100}).json()
    shown = stranger.get(f"{discover}/{workflow_id}")
    version = stranger.get(f"{discover}/{workflow_id}/versions/1")
    ran = stranger.post(f"{discover}/{workflow_id}/runs", json={"input": {"x": "s"}}).json()
    owner_runs = owner.get(f"/apps/{owner_app}/workflows/{workflow_id}/runs").json()
    own_run = stranger.get(f"/apps/{stranger_app}/workflows/{workflow_id}/runs/{ran['id']}")
    own_runs = stranger.get(f"/apps/{stranger_app}/workflows/{workflow_id}/runs").json()
    # The caller's own discoverable run is found (and, finished, cannot be cancelled).
    own_cancel = stranger.post(f"{discover}/{workflow_id}/runs/{ran['id']}/cancel")
    forbidden = [
        stranger.get(f"{discover}/{hidden}"),
        stranger.get(f"/apps/{owner_app}/workflows"),
        stranger.get(f"/apps/{stranger_app}/workflows/{workflow_id}"),
        owner.get(f"/apps/{owner_app}/workflows/{workflow_id}/runs/{ran['id']}"),
        owner.post(f"/apps/{owner_app}/workflows/discover/{workflow_id}/runs/{ran['id']}/cancel"),
    ]

    assert workflow_id in {w["id"] for w in listed["data"]}
    assert hidden not in {w["id"] for w in listed["data"]}
    assert shown.status_code == 200 and "environment_variables" not in shown.text
    assert version.json()["version"] == 1
    assert ran["status"] == "COMPLETED" and ran["app_id"] == stranger_app
    assert ran["workflow_app_id"] == owner_app
    assert ran["id"] not in {r["id"] for r in owner_runs["data"]}
    assert own_run.json()["id"] == ran["id"]
    assert [r["id"] for r in own_runs["data"]] == [ran["id"]]
    assert own_cancel.status_code == 409
    assert [answer.status_code for answer in forbidden] == [404] * len(forbidden)


def _streamed(client: httpx.Client, path: str, body: dict[str, Any]) -> list[tuple[float, Any]]:
    """Each run object the stream sends, with the seconds since the request when it came."""
    started = time.monotonic()
    arrivals = []
    with client.stream("POST", path, json={**body, "stream": True}) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        for line in answer.iter_lines():
            if line.startswith("data: "):
                arrivals.append((time.monotonic() - started, json.loads(line[6:])))
    return arrivals


def test_a_streamed_run_sends_the_growing_run_object_as_it_grows(
    owner: httpx.Client, counter: str
) -> None:
    app = _app(owner)
    # The first step answers after 1.5 s: what the stream sent before that, it sent live.
    workflow_id = _workflow(owner, f"{counter}/x?s=1.5")

    arrivals = _streamed(owner, f"/apps/{app}/workflows/{workflow_id}/runs", {"input": {"x": "a"}})

    (first_at, first), (last_at, last) = arrivals[0], arrivals[-1]
    assert len({o["id"] for _, o in arrivals}) == 1
    assert first["status"] in ("PENDING", "RUNNING") and first_at < 1.0
    assert last_at - first_at >= 1.0
    assert last["status"] == "COMPLETED"
    assert last["output"] == {"last": {"y": "a"}}


def test_a_streamed_replay_and_a_client_that_leaves(owner: httpx.Client, counter: str) -> None:
    app = _app(owner)
    workflow_id = _workflow(owner, f"{counter}/x?s=1")
    runs = f"/apps/{app}/workflows/{workflow_id}/runs"
    original = owner.post(runs, json={"input": {"x": "a"}}).json()

    with owner.stream("POST", runs, json={"input": {"x": "b"}, "stream": True}) as left:
        next(line for line in left.iter_lines() if line.startswith("data: "))
    replayed = _streamed(owner, f"{runs}/{original['id']}/replay", {"stepKey": "shape"})

    # The run whose stream was left goes on to the end.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        statuses = [r["status"] for r in owner.get(runs).json()["data"]]
        if len(statuses) == 3 and "RUNNING" not in statuses and "PENDING" not in statuses:
            break
        time.sleep(0.2)
    assert statuses == ["COMPLETED"] * 3
    final = replayed[-1][1]
    assert final["status"] == "COMPLETED" and final["replay_of"]["run_id"] == original["id"]
    assert _Counting.calls == 2  # the replay reused the fetch: only the two runs called


def test_a_replay_reuses_the_branch_an_upstream_condition_took(
    owner: httpx.Client, counter: str
) -> None:
    app = _app(owner)
    body = {
        "name": "branching replay",
        "nodes": [
            {"id": "fetch", "type": "http-request", "config": {"url": f"{counter}/count"}},
            {
                "id": "check",
                "type": "condition",
                "config": {"expression": "{{trigger.data.n}} > 1"},
            },
            {"id": "big", "type": "tool-call", "config": {"tool": "echo", "input": {"v": "big"}}},
            {"id": "small", "type": "tool-call", "config": {"tool": "echo", "input": {"v": "s"}}},
        ],
        "edges": [
            {"from": "fetch", "to": "check"},
            {"from": "check", "to": "big", "condition": "true"},
            {"from": "check", "to": "small", "condition": "false"},
        ],
    }
    workflow_id = owner.post("/v1/workflows", json=body).json()["id"]
    runs = f"/apps/{app}/workflows/{workflow_id}/runs"
    original = owner.post(runs, json={"input": {"n": 5}}).json()

    replayed = owner.post(f"{runs}/{original['id']}/replay", json={"stepKey": "big"}).json()

    assert original["output"] == {"big": {"v": "big"}}, original
    assert replayed["status"] == "COMPLETED", replayed
    assert replayed["output"] == {"big": {"v": "big"}}
    assert _Counting.calls == 1


def test_usage_sums_the_model_calls_on_cortex_and_v1(owner: httpx.Client) -> None:
    app = _app(owner)
    body = {
        "name": "usage",
        "nodes": [
            {"id": "ask", "type": "ai-generate", "config": {"prompt": "hello there"}},
            {"id": "again", "type": "ai-generate", "config": {"prompt": "{{ask.result}}"}},
        ],
        "edges": [{"from": "ask", "to": "again"}],
    }
    workflow_id = owner.post("/v1/workflows", json=body).json()["id"]

    run = owner.post(f"/apps/{app}/workflows/{workflow_id}/runs", json={"input": {}}).json()
    v1 = owner.get(f"/v1/workflows/{workflow_id}/runs/{run['id']}").json()

    steps = run["usage"]["steps"]
    assert set(steps) == {"ask", "again"}
    assert all(step["calls"] == 1 and step["total"] > 0 for step in steps.values())
    assert run["usage"]["total"] == steps["ask"]["total"] + steps["again"]["total"]
    assert len(run["usage"]["calls"]) == 2
    # The v1 detail adds what the finished run used of what is billed (its cost route).
    tokens = {k: v for k, v in v1["usage"].items() if k not in ("transitions", "writes")}
    assert tokens == run["usage"]
