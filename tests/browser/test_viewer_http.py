"""What the viewer's routes answer over HTTP, through the real local server: public pages
and assets (and nothing else public), the account-key reads of a run by its id alone, and
its event stream resumed after a Last-Event-ID."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from functions.api.viewer import pages
from local.server import _next_steps as next_steps
from tests.browser import workflows
from tests.local_server import Server

pytestmark = pytest.mark.xdist_group("browser")


def chunks(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(id, payload) of every data event of an SSE body."""
    found = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields:
            found.append((fields.get("id", ""), json.loads(fields["data"])))
    return found


@pytest.fixture(scope="module")
def failed_run(server: Server) -> dict[str, Any]:
    with server.client() as api:
        workflow_id = api.post("/v1/workflows", json=workflows.failing_v1()).json()["id"]
        run_id = api.post(f"/v1/workflows/{workflow_id}/run", json={"data": {}}).json()["runId"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            run: dict[str, Any] = api.get(f"/v1/workflows/{workflow_id}/runs/{run_id}").json()
            if run["status"] == "failed":
                return run
            time.sleep(0.2)
    raise AssertionError("the failing run did not fail")


def test_pages_are_public_and_locked_down(server: Server) -> None:
    for path in ("/ui/runs/any-run", "/ui/workflows/any-workflow/runs"):
        answer = httpx.get(server.base_url + path)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"] == "text/html; charset=utf-8"
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert "__ASSETS__" not in answer.text
        # Nothing of the address is written into the page.
        assert "any-run" not in answer.text and "any-workflow" not in answer.text


def test_assets_are_served_by_name_and_revalidated_by_etag(server: Server) -> None:
    for name in pages.ASSETS:
        answer = httpx.get(f"{server.base_url}/ui/assets/{name}")
        assert answer.status_code == 200, name
        assert answer.text == (pages.STATIC / name).read_text(encoding="utf-8")
    script = httpx.get(f"{server.base_url}/ui/assets/viewer.js")
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    again = httpx.get(
        f"{server.base_url}/ui/assets/viewer.js", headers={"If-None-Match": script.headers["etag"]}
    )
    assert (again.status_code, again.content) == (304, b"")


@pytest.mark.parametrize("name", ["nope.js", "index.html", "%2E%2E", "viewer.js.map"])
def test_anything_but_an_asset_is_not_found_naming_it(server: Server, name: str) -> None:
    answer = httpx.get(f"{server.base_url}/ui/assets/{name}")
    assert answer.status_code == 404
    assert answer.json()["message"] == f"asset '{httpx.URL('/' + name).path[1:]}' not found"


@pytest.mark.parametrize("path", ["..%2Fpages.py", "..%2F..%2Fhandler.py", "../pages.py"])
def test_no_path_reaches_a_file_beside_the_assets(server: Server, path: str) -> None:
    answer = httpx.get(f"{server.base_url}/ui/assets/{path}")
    # A name with a slash is no asset route: the gateway asks for a key, as for any route.
    assert answer.status_code in (401, 404)
    assert "import" not in answer.text


def test_other_paths_under_ui_need_a_key(server: Server) -> None:
    answer = httpx.get(f"{server.base_url}/ui/anything-else")
    assert answer.status_code == 401


def test_a_run_by_its_id_alone(server: Server, failed_run: dict[str, Any]) -> None:
    with server.client() as api:
        answer = api.get(f"/v1/runs/{failed_run['id']}")
        missing = api.get("/v1/runs/no-such-run")
    assert answer.status_code == 200
    assert answer.json() == failed_run
    assert missing.status_code == 404
    assert missing.json()["message"] == "run 'no-such-run' not found"
    assert httpx.get(f"{server.base_url}/v1/runs/{failed_run['id']}").status_code == 401


def test_another_tenants_run_is_not_found(server: Server, failed_run: dict[str, Any]) -> None:
    with server.client() as admin:
        created = admin.post(
            "/v1/keys", json={"name": "other", "scopes": ["read"], "tenant": "new"}
        )
        assert created.status_code == 201, created.text
    with server.client(created.json()["key"]) as other:
        assert other.get(f"/v1/runs/{failed_run['id']}").status_code == 404
        assert other.get(f"/v1/runs/{failed_run['id']}/events").status_code == 404


def test_the_runs_event_stream_from_the_start_and_resumed(
    server: Server, failed_run: dict[str, Any]
) -> None:
    path = f"/v1/runs/{failed_run['id']}/events"
    with server.client() as api:
        whole = api.get(path)
        assert whole.headers["content-type"].startswith("text/event-stream")
        everything = chunks(whole.text)
        middle = everything[2][0]
        rest = chunks(api.get(path, headers={"Last-Event-ID": middle}).text)
        refused = api.get(path, headers={"Last-Event-ID": "not-an-id"})

    events = [payload["event"] for _, payload in everything]
    assert events[0] == "workflow_started" and events[-1] == "workflow_finished"
    finished = {
        p["data"]["node_id"]: p["data"] for _, p in everything if p["event"] == "node_finished"
    }
    assert finished["call"]["status"] == "failed"
    assert finished["call"]["error"] == next(
        s["error"] for s in failed_run["stepResults"] if s["nodeId"] == "call"
    )
    assert finished["fetch"]["inputs"]["tool"] == "echo"
    assert rest == everything[3:]
    assert refused.status_code == 400
    assert "Last-Event-ID" in refused.json()["message"]


def test_the_event_stream_needs_an_account_key(server: Server, failed_run: dict[str, Any]) -> None:
    path = f"/v1/runs/{failed_run['id']}/events"
    assert httpx.get(server.base_url + path).status_code == 401
    with server.client() as admin:
        app_key = admin.post(
            f"/v1/workflows/{failed_run['workflowId']}/keys", json={"name": "app"}
        ).json()["key"]
    answer = httpx.get(server.base_url + path, headers={"Authorization": f"Bearer {app_key}"})
    # Refused by the authorizer's policy already: app keys open only the service API.
    assert answer.status_code == 403
    assert answer.json()["code"] == "forbidden"


def test_make_run_names_the_demo_workflows_runs_page(server: Server) -> None:
    created = {"demo_workflow_id": server.demo_workflow_id, "key": server.admin_key}
    lines = next_steps(server.base_url, created).splitlines()
    url = f"{server.base_url}/ui/workflows/{server.demo_workflow_id}/runs"
    assert f"  {url}" in lines
    assert httpx.get(url).status_code == 200
