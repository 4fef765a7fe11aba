"""Canvas figures on the local server (`python -m local`, moto), over real TCP, against goals:

- draft save (`POST /workflow/canvas/draft`) of a 200-node graph: every save converts and
  validates the whole graph (its problems are in the answer) and writes it once;
- publish (`POST /workflow/canvas/publish`: validate, compile, deploy a Step Functions
  version, write the version and the workflow in one transaction) of 50 and 500 nodes.

Graphs are chains of template nodes between a start and an end node, as the editor sends
them (Dify-shaped, with positions).

    python -m bench.canvas_latency [--samples 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from itertools import pairwise
from typing import Any

import httpx

from tests.local_server import running

# Seconds. Saves happen while a user draws (the editor autosaves): well under a second.
GOALS = {"draft save, 200 nodes": 0.5, "publish, 50 nodes": 1.0, "publish, 500 nodes": 5.0}


def chain_graph(size: int) -> dict[str, Any]:
    """start -> (size - 2) template nodes -> end, each node at its own canvas position."""
    templates = [f"t{i}" for i in range(1, size - 1)]
    ids = ["start", *templates, "end"]
    nodes: list[dict[str, Any]] = [
        {
            "id": "start",
            "data": {"type": "start", "title": "Start", "variables": []},
        }
    ]
    previous = ["sys", "workflow_run_id"]
    for node_id in templates:
        nodes.append(
            {
                "id": node_id,
                "data": {
                    "type": "template-transform",
                    "title": node_id,
                    "template": "{{ x }}.",
                    "variables": [{"variable": "x", "value_selector": previous}],
                },
            }
        )
        previous = [node_id, "output"]
    nodes.append(
        {
            "id": "end",
            "data": {
                "type": "end",
                "title": "End",
                "outputs": [{"variable": "out", "value_selector": previous}],
            },
        }
    )
    for index, node in enumerate(nodes):
        node["position"] = {"x": 300 * index, "y": 0}
    edges = [
        {"id": f"{a}-{b}", "source": a, "target": b, "sourceHandle": "source"}
        for a, b in pairwise(ids)
    ]
    return {"nodes": nodes, "edges": edges}


def _timed(call: Callable[[], httpx.Response]) -> float:
    started = time.perf_counter()
    answer = call()
    assert answer.status_code == 200, answer.text
    return time.perf_counter() - started


def _draft_saves(http: httpx.Client, samples: int) -> list[float]:
    graph = chain_graph(200)
    canvas = http.post("/workflow/canvas/draft", json={"graph": graph}).json()["id"]
    save = partial(http.post, "/workflow/canvas/draft", json={"id": canvas, "graph": graph})
    return [_timed(save) for _ in range(samples)]


def _publishes(http: httpx.Client, size: int, samples: int) -> list[float]:
    graph = chain_graph(size)
    timings = []
    for _ in range(samples):
        canvas = http.post("/workflow/canvas/draft", json={"graph": graph}).json()["id"]
        timings.append(_timed(partial(http.post, "/workflow/canvas/publish", json={"id": canvas})))
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=5)
    samples = parser.parse_args().samples
    with running() as server:
        headers = {"X-API-Key": server.admin_key}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=120) as http:
            figures = {
                "draft save, 200 nodes": _draft_saves(http, samples),
                "publish, 50 nodes": _publishes(http, 50, samples),
                "publish, 500 nodes": _publishes(http, 500, samples),
            }
    for what, timings in figures.items():
        median = statistics.median(timings)
        print(
            f"{what:22} median {median * 1000:7.0f} ms (max {max(timings) * 1000:.0f}) "
            f"goal {GOALS[what] * 1000:.0f} ms ratio {median / GOALS[what]:.2f}"
        )


if __name__ == "__main__":
    main()
