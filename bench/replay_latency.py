"""Replay vs a fresh run of the same 10-node workflow, on the local server (moto), over
real HTTP through the Cortex face (blocking answers):

- a fresh run of a chain of 10 echo steps;
- a replay of it from the 6th step: 5 steps answer their stored outputs, 5 run anew.

    python -m bench.replay_latency [--samples 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import httpx

from tests.local_server import running

STEPS = 10
REPLAY_FROM = "s6"
# A replay must cost no more than the run it replays.
GOAL_RATIO = 1.0


def _chain() -> dict[str, Any]:
    nodes = [
        {"id": f"s{i}", "type": "tool-call", "config": {"tool": "echo", "input": {"i": i}}}
        for i in range(1, STEPS + 1)
    ]
    edges = [{"from": f"s{i}", "to": f"s{i + 1}"} for i in range(1, STEPS)]
    return {"name": "replay bench", "nodes": nodes, "edges": edges}


def _timed(http: httpx.Client, path: str, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    answer = http.post(path, json=body)
    elapsed = time.perf_counter() - started
    run: dict[str, Any] = answer.json()
    assert run.get("status") == "COMPLETED", run
    return elapsed, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=5)
    samples = parser.parse_args().samples
    with running() as server:
        headers = {"X-API-Key": server.admin_key}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=120) as http:
            app = http.get("/apps").json()["data"][0]["id"]
            workflow_id = http.post("/v1/workflows", json=_chain()).json()["id"]
            runs = f"/apps/{app}/workflows/{workflow_id}/runs"
            fresh, replays = [], []
            for _ in range(samples):
                elapsed, run = _timed(http, runs, {"input": {}})
                fresh.append(elapsed)
                replay = f"{runs}/{run['id']}/replay"
                replays.append(_timed(http, replay, {"stepKey": REPLAY_FROM})[0])
    fresh_ms, replay_ms = statistics.median(fresh) * 1000, statistics.median(replays) * 1000
    ratio = replay_ms / fresh_ms
    print(f"fresh run, {STEPS} steps         median {fresh_ms:6.0f} ms")
    print(f"replay from {REPLAY_FROM} (5 reused)   median {replay_ms:6.0f} ms")
    print(f"replay / fresh {ratio:.2f}, goal <= {GOAL_RATIO:.1f}, ratio {ratio / GOAL_RATIO:.2f}")


if __name__ == "__main__":
    main()
