"""The walking-skeleton figures on the local server (`python -m local`), over real TCP:

- time from starting the server process to its "listening" line;
- median wall time of a 3-node v1 run (tool-call -> ai-generate -> email-send): from
  POST /run to the run reading `completed` (polled every 20 ms).

    python -m bench.v1_run_latency [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx

from tests.local_server import running

THREE_NODES = {
    "name": "bench: three nodes",
    "nodes": [
        {
            "id": "fetch",
            "type": "tool-call",
            "config": {"tool": "echo", "input": {"b": "{{trigger.data.b}}"}},
        },
        {"id": "analyze", "type": "ai-generate", "config": {"prompt": "About {{fetch.result.b}}"}},
        {
            "id": "notify",
            "type": "email-send",
            "config": {"to": "ops@example.com", "subject": "r", "body": "{{analyze.result}}"},
        },
    ],
    "edges": [{"from": "fetch", "to": "analyze"}, {"from": "analyze", "to": "notify"}],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    started = time.perf_counter()
    with running() as server:
        print(f"start command -> listening server: {time.perf_counter() - started:.1f} s")
        with httpx.Client(
            base_url=server.base_url, headers={"X-API-Key": server.admin_key}, timeout=30
        ) as client:
            workflow_id = client.post("/v1/workflows", json=THREE_NODES).json()["id"]
            timings = []
            for _ in range(runs):
                begun = time.perf_counter()
                run_id = client.post(
                    f"/v1/workflows/{workflow_id}/run", json={"data": {"b": "A"}}
                ).json()["runId"]
                while client.get(f"/v1/workflows/{workflow_id}/runs/{run_id}").json()[
                    "status"
                ] not in ("completed", "failed"):
                    time.sleep(0.02)
                timings.append((time.perf_counter() - begun) * 1000)
        print(
            f"3-node v1 run, start to completed: median {statistics.median(timings):.0f} ms, "
            f"p90 {sorted(timings)[int(0.9 * len(timings)) - 1]:.0f} ms over {runs} runs"
        )


if __name__ == "__main__":
    main()
