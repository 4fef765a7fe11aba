"""The run viewer in headless Chromium against the real local server: a run watched live
on its canvas graph (a node goes running -> succeeded, its colour with it), and a failed
run drawn in layers with its failed node's error shown on click. Each test saves a
screenshot and prints its path."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser import workflows
from tests.browser.conftest import Viewer
from tests.local_server import Server

pytestmark = pytest.mark.xdist_group("browser")

# viewer.css: the fill of a running and of a succeeded node.
RUNNING_FILL = "rgb(191, 219, 254)"
SUCCEEDED_FILL = "rgb(187, 247, 208)"


def enter_key(page: Page, key: str) -> None:
    field = page.locator("#key-input")
    expect(field).to_be_visible()
    field.fill(key)
    page.locator("#key-form button[type=submit]").click()


def fill(node: Locator) -> str:
    colour: str = node.locator("rect").evaluate("rect => getComputedStyle(rect).fill")
    return colour


def box(page: Page, node_id: str) -> dict[str, float]:
    found = page.locator(f'[data-node="{node_id}"]').bounding_box()
    assert found is not None, node_id
    return {"x": found["x"], "y": found["y"], "width": found["width"], "height": found["height"]}


def finished(api: httpx.Client, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run: dict[str, Any] = api.get(f"/v1/runs/{run_id}").json()
        if run["status"] in ("completed", "failed"):
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish")


def screenshot(page: Page, path: Path) -> None:
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    print(f"viewer screenshot: {path}")


def assert_key_only_in_headers(viewer: Viewer, key: str) -> None:
    """The key never appears in an address: not in any request, nor the page's own; it
    travels as the X-API-Key header of the API calls."""
    assert viewer.requests
    assert not [url for url in viewer.urls() if key in url]
    assert key not in viewer.page.url
    api_calls = [r for r in viewer.requests if "/v1/" in r.url]
    assert all(r.headers.get("x-api-key") for r in api_calls)
    assert [r for r in api_calls if r.headers["x-api-key"] == key]
    # Entered without "remember": kept for this tab only.
    assert viewer.page.evaluate("window.localStorage.length") == 0


def test_a_run_is_watched_live_on_its_canvas_graph(
    server: Server, viewer: Viewer, tmp_path: Path
) -> None:
    page = viewer.page
    with server.client() as api:
        document = workflows.dify_document("Slow steps", workflows.slow_canvas())
        imported = api.post("/v1/workflows/import", json={"yaml_content": document})
        assert imported.status_code == 201, imported.text
        workflow_id = imported.json()["id"]

        # The key is entered once, on the runs list; the run page opened from it has it.
        page.goto(f"{server.base_url}/ui/workflows/{workflow_id}/runs")
        enter_key(page, server.admin_key)
        expect(page.locator("#title")).to_have_text("Runs of Slow steps")
        expect(page.locator("#runs-table tbody")).to_contain_text("No runs yet")

        started = api.post(f"/v1/workflows/{workflow_id}/run", json={"data": {}})
        assert started.status_code == 200, started.text
        run_id = started.json()["runId"]
        page.reload()
        page.locator(f'#runs-table a:text-is("{run_id}")').click()
        expect(page).to_have_url(f"{server.base_url}/ui/runs/{run_id}")

        slow = page.locator('[data-node="slow"]')
        expect(slow).to_have_attribute("data-status", "running")
        expect(page.locator("#run-status")).to_have_text("running")
        running_fill = fill(slow)
        expect(slow).to_have_attribute("data-status", "succeeded")
        succeeded_fill = fill(slow)
        run = finished(api, run_id)

    assert (running_fill, succeeded_fill) == (RUNNING_FILL, SUCCEEDED_FILL)
    statuses = page.evaluate("window.__statuses")
    assert statuses["slow"][-2:] == ["running", "succeeded"], statuses
    assert statuses["end"][-2:] == ["running", "succeeded"], statuses
    expect(page.locator("#run-status")).to_have_text("succeeded")
    assert run["status"] == "completed"

    # Drawn where the canvas put the nodes: `end` under `slow`, not to its right.
    assert page.locator("#graph").get_attribute("data-layout") == "canvas"
    start, middle, end = box(page, "start"), box(page, "slow"), box(page, "end")
    assert start["x"] + start["width"] < middle["x"]
    assert abs(start["y"] - middle["y"]) < 1
    assert abs(end["x"] - middle["x"]) < 1
    assert end["y"] > middle["y"] + middle["height"]

    slow.click()
    expect(page.locator("#panel-title")).to_have_text("Slow step (slow)")
    expect(page.locator("#panel-status")).to_have_text("succeeded")
    expect(page.locator("#panel-outputs")).to_contain_text('"result": "done"')
    expect(page.locator("#panel-error-section")).to_be_hidden()
    elapsed = page.locator("#panel-elapsed").inner_text()
    assert float(elapsed.removesuffix(" s")) >= workflows.SLOW_SECONDS, elapsed
    expect(page.locator("#panel-started")).not_to_have_text("—")
    expect(page.locator("#panel-finished")).not_to_have_text("—")

    screenshot(page, tmp_path / "run-viewer-live.png")
    assert_key_only_in_headers(viewer, server.admin_key)
    assert viewer.page_errors == []


def test_a_failed_node_shows_its_error_on_click(
    server: Server, viewer: Viewer, tmp_path: Path
) -> None:
    page = viewer.page
    with server.client() as api:
        created = api.post("/v1/workflows", json=workflows.failing_v1())
        assert created.status_code == 201, created.text
        workflow_id = created.json()["id"]
        run_id = api.post(f"/v1/workflows/{workflow_id}/run", json={"data": {}}).json()["runId"]
        run = finished(api, run_id)
    assert run["status"] == "failed"
    (error,) = [step["error"] for step in run["stepResults"] if step["nodeId"] == "call"]

    page.goto(f"{server.base_url}/ui/runs/{run_id}")
    # A key the API refuses is asked for again, with the API's answer.
    enter_key(page, "sc_not-a-real-key")
    expect(page.locator("#key-error")).to_contain_text("401")
    enter_key(page, server.admin_key)

    expected = {"fetch": "succeeded", "check": "succeeded", "call": "failed", "log": "skipped"}
    for node_id, status in expected.items():
        expect(page.locator(f'[data-node="{node_id}"]')).to_have_attribute("data-status", status)
    expect(page.locator("#run-status")).to_have_text("failed")

    # No canvas positions in a v1 workflow: one layer per step, the branches side by side.
    assert page.locator("#graph").get_attribute("data-layout") == "layered"
    fetch, check, call, log = (box(page, n) for n in ("fetch", "check", "call", "log"))
    assert fetch["x"] < check["x"] < call["x"]
    assert abs(call["x"] - log["x"]) < 1
    assert abs(call["y"] - log["y"]) >= call["height"]

    page.locator('[data-node="fetch"]').click()
    expect(page.locator("#panel-inputs")).to_contain_text('"tool": "echo"')
    expect(page.locator("#panel-outputs")).to_contain_text('"n": 12')
    expect(page.locator("#panel-error-section")).to_be_hidden()

    page.locator('[data-node="call"]').click()
    expect(page.locator("#panel-title")).to_have_text("call")
    expect(page.locator("#panel-status")).to_have_text("failed")
    expect(page.locator("#panel-error-section")).to_be_visible()
    expect(page.locator("#panel-error")).to_have_text(error)
    assert (
        page.locator('[data-node="call"]').get_attribute("class") == "node status-failed selected"
    )

    screenshot(page, tmp_path / "run-viewer-failed.png")
    assert_key_only_in_headers(viewer, server.admin_key)
    assert viewer.page_errors == []


def test_a_stopped_run_shows_the_node_it_cut_off(
    server: Server, viewer: Viewer, tmp_path: Path
) -> None:
    page = viewer.page
    with server.client() as api:
        document = workflows.dify_document("Stopped steps", workflows.slow_canvas())
        workflow_id = api.post("/v1/workflows/import", json={"yaml_content": document}).json()["id"]
        run_id = api.post(f"/v1/workflows/{workflow_id}/run", json={"data": {}}).json()["runId"]
        page.goto(f"{server.base_url}/ui/runs/{run_id}")
        enter_key(page, server.admin_key)
        slow = page.locator('[data-node="slow"]')
        expect(slow).to_have_attribute("data-status", "running")
        (app,) = api.get("/apps").json()["data"]
        cancelled = api.post(f"/apps/{app['id']}/workflows/{workflow_id}/runs/{run_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text

    expect(page.locator("#run-status")).to_have_text("stopped")
    expect(slow).to_have_attribute("data-status", "stopped")
    expect(page.locator('[data-node="start"]')).to_have_attribute("data-status", "succeeded")
    expect(page.locator('[data-node="end"]')).to_have_attribute("data-status", "skipped")
    slow.click()
    expect(page.locator("#panel-status")).to_have_text("stopped")
    expect(page.locator("#panel-error")).to_have_text("cancelled by the user")
    screenshot(page, tmp_path / "run-viewer-stopped.png")
    assert_key_only_in_headers(viewer, server.admin_key)
    assert viewer.page_errors == []
