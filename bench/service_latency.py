"""Service API latency on the local server (`python -m local`, moto), over real TCP:

- time to the first SSE event of a streaming run (the passthrough workflow);
- how long after a node finished its `node_finished` event reached the client, over a
  10-node workflow (start, 8 template nodes, end); the finish time is the node's own
  `completedAt` (ms) from the v1 run view, on the same clock as the client;
- blocking-mode latency of the passthrough workflow.

    python -m bench.service_latency [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import datetime

import httpx
from httpx_sse import connect_sse

from tests.local_server import Server, running
from tests.service import dsl

CHAIN_TEMPLATES = 8  # + start + end = 10 nodes


def new_app(http: httpx.Client, admin_key: str, document: str) -> tuple[str, str]:
    admin = {"X-API-Key": admin_key}
    created = http.post("/v1/workflows/import", json={"yaml_content": document}, headers=admin)
    created.raise_for_status()
    workflow_id: str = created.json()["id"]
    key = http.post(f"/v1/workflows/{workflow_id}/keys", json={}, headers=admin)
    key.raise_for_status()
    return workflow_id, key.json()["key"]


def streaming(http: httpx.Client, key: str, inputs: dict[str, str]) -> list[tuple[float, dict]]:  # type: ignore[type-arg]
    """Each event with the wall-clock time (s) it arrived; the request's send time first."""
    body = {"inputs": inputs, "user": "bench", "response_mode": "streaming"}
    arrivals = [(time.time(), {"event": "sent"})]
    with connect_sse(
        http, "POST", "/v1/workflows/run", json=body, headers={"Authorization": f"Bearer {key}"}
    ) as source:
        for event in source.iter_sse():
            if event.data:
                arrivals.append((time.time(), json.loads(event.data)))
    return arrivals


def first_event_ms(http: httpx.Client, key: str, runs: int) -> list[float]:
    samples = []
    for n in range(runs):
        arrivals = streaming(http, key, {"query": f"first {n}"})
        samples.append((arrivals[1][0] - arrivals[0][0]) * 1000)
    return samples


def node_to_client_ms(http: httpx.Client, local: Server, runs: int) -> list[float]:
    workflow_id, key = new_app(http, local.admin_key, dsl.chain(CHAIN_TEMPLATES))
    samples = []
    for n in range(runs):
        arrivals = streaming(http, key, {"query": f"chain {n}"})
        run_id = arrivals[-1][1]["workflow_run_id"]
        view = http.get(
            f"/v1/workflows/{workflow_id}/runs/{run_id}", headers={"X-API-Key": local.admin_key}
        ).json()
        finished = {
            step["nodeId"]: datetime.fromisoformat(step["completedAt"].replace("Z", "+00:00"))
            for step in view["stepResults"]
        }
        for arrived, chunk in arrivals:
            if chunk["event"] == "node_finished":
                node_done = finished[chunk["data"]["node_id"]].timestamp()
                samples.append((arrived - node_done) * 1000)
    return samples


def blocking_ms(http: httpx.Client, key: str, runs: int) -> list[float]:
    samples = []
    for n in range(runs):
        started = time.perf_counter()
        answer = http.post(
            "/v1/workflows/run",
            json={"inputs": {"query": f"block {n}"}, "user": "bench"},
            headers={"Authorization": f"Bearer {key}"},
        )
        samples.append((time.perf_counter() - started) * 1000)
        assert answer.json()["data"]["status"] == "succeeded", answer.text
    return samples


def describe(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return (
        f"{name:<44} median {statistics.median(ordered):7.1f} ms   p90 {p90:7.1f} ms   "
        f"min {ordered[0]:6.1f}   max {ordered[-1]:7.1f}   (n={len(ordered)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with running() as local, httpx.Client(base_url=local.base_url, timeout=60) as http:
        _, key = new_app(http, local.admin_key, dsl.passthrough())
        blocking_ms(http, key, 3)  # warm up: imports, first state machine, connections
        print(
            describe("time to first SSE event (passthrough)", first_event_ms(http, key, args.runs))
        )
        print(
            describe(
                f"node finished -> event at client ({CHAIN_TEMPLATES + 2} nodes)",
                node_to_client_ms(http, local, max(args.runs // 4, 3)),
            )
        )
        print(describe("blocking run latency (passthrough)", blocking_ms(http, key, args.runs)))


if __name__ == "__main__":
    main()
