"""The viewer's graph model and layered layout (model.js, layout.js), run in Chromium as
the page loads them, on graphs the two run tests do not draw: fan-out and fan-in, a
shortcut edge, a loop's edge back, and nodes inside an iteration."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Viewer
from tests.local_server import Server

pytestmark = pytest.mark.xdist_group("browser")

Boxes = dict[str, dict[str, float]]


@pytest.fixture
def page(server: Server, viewer: Viewer) -> Page:
    # Any viewer page: it has loaded the modules, and the key form waits (no data needed).
    viewer.page.goto(f"{server.base_url}/ui/runs/none")
    expect(viewer.page.locator("#key-input")).to_be_visible()
    return viewer.page


def laid_out(page: Page, document: dict[str, Any]) -> tuple[str, Boxes]:
    kind, boxes = page.evaluate(
        """async (document) => {
          const { fromDocument } = await import("/ui/assets/model.js");
          const { layout } = await import("/ui/assets/layout.js");
          const placed = layout(fromDocument(document));
          return [placed.kind, Object.fromEntries(placed.boxes)];
        }""",
        document,
    )
    return kind, boxes


def v1(*edges: tuple[str, str]) -> dict[str, Any]:
    ids = list(dict.fromkeys(n for edge in edges for n in edge))
    return {
        "nodes": [{"id": n, "type": "tool-call"} for n in ids],
        "edges": [{"from": s, "to": t} for s, t in edges],
    }


def column(boxes: Boxes, node: str) -> int:
    xs = sorted({b["x"] for b in boxes.values()})
    return xs.index(boxes[node]["x"])


def test_fan_out_and_fan_in_take_one_layer_each(page: Page) -> None:
    kind, boxes = laid_out(page, v1(("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")))
    assert kind == "layered"
    assert [column(boxes, n) for n in "abcd"] == [0, 1, 1, 2]
    assert boxes["b"]["y"] != boxes["c"]["y"]
    # The fan-in sits between its two sources.
    assert boxes["d"]["y"] == (boxes["b"]["y"] + boxes["c"]["y"]) / 2


def test_a_node_sits_one_layer_right_of_its_furthest_predecessor(page: Page) -> None:
    _, boxes = laid_out(page, v1(("a", "b"), ("b", "c"), ("a", "c")))
    assert [column(boxes, n) for n in "abc"] == [0, 1, 2]


def test_a_loop_back_edge_does_not_break_the_layers(page: Page) -> None:
    _, boxes = laid_out(page, v1(("a", "b"), ("b", "c"), ("c", "b"), ("c", "d")))
    assert [column(boxes, n) for n in "abcd"] == [0, 1, 2, 3]


def test_neighbours_are_ordered_to_avoid_crossings(page: Page) -> None:
    # Taken in the order they become ready, p (from b) would sit above q (from a and b),
    # and a->q would cross b->p; ordered by their sources' mean position, nothing crosses.
    document = {
        "nodes": [{"id": n, "type": "tool-call"} for n in ("a", "b", "p", "q")],
        "edges": [{"from": "b", "to": "p"}, {"from": "b", "to": "q"}, {"from": "a", "to": "q"}],
    }
    _, boxes = laid_out(page, document)
    assert boxes["a"]["y"] < boxes["b"]["y"]
    assert boxes["q"]["y"] < boxes["p"]["y"]


def test_canvas_positions_of_nodes_inside_an_iteration_are_relative_to_it(page: Page) -> None:
    document = {
        "graph": {
            "nodes": [
                {
                    "id": "loop",
                    "data": {"type": "iteration", "title": "Each"},
                    "position": {"x": 100, "y": 50},
                    "width": 600,
                    "height": 300,
                },
                {
                    "id": "inner",
                    "parentId": "loop",
                    "data": {"type": "code", "title": "Inner"},
                    "position": {"x": 40, "y": 70},
                },
                {
                    "id": "pinned",
                    "parentId": "loop",
                    "data": {"type": "code"},
                    "position": {"x": 1, "y": 1},
                    "positionAbsolute": {"x": 500, "y": 260},
                },
            ],
            "edges": [],
        }
    }
    kind, boxes = laid_out(page, document)
    assert kind == "canvas"
    assert (boxes["loop"]["x"], boxes["loop"]["y"], boxes["loop"]["width"]) == (100, 50, 600)
    assert (boxes["inner"]["x"], boxes["inner"]["y"]) == (140, 120)
    assert (boxes["pinned"]["x"], boxes["pinned"]["y"]) == (500, 260)
