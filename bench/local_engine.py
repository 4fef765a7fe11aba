"""The local engine's cost per node against Dify's own engine, and as history grows.

    python -m bench.local_engine            (--along: only the 300-node chain)

The same Dify DSL (a chain of template-transform nodes) runs in Dify's engine (graphon,
in-process, `make graphon` installs it) and through the real local server (imported over
HTTP, run blocking with an app key). Per-node overhead is the time a run gains per added
node, (t(long) - t(short)) / (long - short nodes), so what is paid once per run (HTTP,
start, finish) cancels. Then 10,000 finished runs are stored and the short chain timed
again: a run must cost the same after them. Last, one run of a 300-node chain, read from
its execution history: what each node's Task received (bytes of its Parameters) and the
time per node, early in the chain and late in it, must both stay flat (issue 13 item 4).
"""

from __future__ import annotations

import itertools
import json
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx
import yaml

from functions.core.data.schema import META
from tests.differential.engines import GRAPHON_PYTHON, RUNNER
from tests.local_server import Server, running

SHORT, LONG = 10, 60
ALONG = 300  # the chain read node by node
WINDOW = 50  # nodes at each end of it compared
REPEATS = 5
HISTORY = 10_000
PER_NODE_GOAL = 10.0  # × graphon's per-node overhead
HISTORY_GOAL = 1.2  # a run after HISTORY stored runs / the same run before them


def chain(size: int) -> str:
    """start → `size` template nodes, each extending the previous one's text → end."""
    nodes: list[dict[str, Any]] = [
        {
            "id": "start",
            "type": "custom",
            "data": {
                "type": "start",
                "title": "Start",
                "variables": [
                    {"variable": "text", "label": "text", "type": "text-input", "required": True}
                ],
            },
        }
    ]
    edges: list[dict[str, Any]] = []
    previous = ("start", "text")
    for index in range(size):
        node_id = f"t{index}"
        nodes.append(
            {
                "id": node_id,
                "type": "custom",
                "data": {
                    "type": "template-transform",
                    "title": node_id,
                    "template": "{{ a }}.",
                    "variables": [{"variable": "a", "value_selector": list(previous)}],
                },
            }
        )
        edges.append(_edge(previous[0], node_id))
        previous = (node_id, "output")
    nodes.append(
        {
            "id": "end",
            "type": "custom",
            "data": {
                "type": "end",
                "title": "End",
                "outputs": [
                    {"variable": "text", "value_selector": list(previous), "value_type": "string"}
                ],
            },
        }
    )
    edges.append(_edge(previous[0], "end"))
    document = {
        "app": {"name": f"chain of {size}", "mode": "workflow"},
        "kind": "app",
        "version": "0.3.1",
        "workflow": {"features": {}, "graph": {"nodes": nodes, "edges": edges}},
    }
    return str(yaml.safe_dump(document, sort_keys=False))


def _edge(source: str, target: str) -> dict[str, Any]:
    return {
        "id": f"{source}-{target}",
        "source": source,
        "sourceHandle": "source",
        "target": target,
        "targetHandle": "target",
        "type": "custom",
        "data": {},
    }


def graphon_seconds(size: int) -> float:
    """Median seconds of a run of the chain in graphon (one process, REPEATS runs)."""
    cases = [{"yaml": chain(size), "inputs": {"text": "x"}}] * (REPEATS + 1)
    answer = subprocess.run(
        [str(GRAPHON_PYTHON), str(RUNNER), "--timing"],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    timings = [float(line.split(": ")[1].rstrip("s")) for line in answer.stderr.splitlines()]
    return statistics.median(timings[1:])  # the first run warms graphon's imports


def stepcanvas_seconds(server: Server, admin: httpx.Client, size: int) -> float:
    """Median seconds of a blocking run of the chain through the local server."""
    imported = admin.post("/v1/workflows/import", json={"yaml_content": chain(size)})
    imported.raise_for_status()
    workflow_id = imported.json()["id"]
    key = admin.post(f"/v1/workflows/{workflow_id}/keys", json={}).json()["key"]
    body = {"inputs": {"text": "x"}, "user": "bench", "response_mode": "blocking"}
    timings = []
    with httpx.Client(base_url=server.base_url, timeout=300) as client:
        for _ in range(REPEATS + 1):
            started = time.perf_counter()
            answer = client.post(
                "/v1/workflows/run", json=body, headers={"Authorization": f"Bearer {key}"}
            )
            timings.append(time.perf_counter() - started)
            data = answer.json()["data"]
            if data["status"] != "succeeded":
                raise AssertionError(f"the chain of {size} ended {data['status']}: {data}")
    return statistics.median(timings[1:])


def along_chain(server: Server, admin: httpx.Client, size: int) -> tuple[list[int], list[float]]:
    """One run of the chain, from its execution's history: the bytes of the Parameters
    each template node's Task received, and the seconds from each node's Task to the
    next one's, in chain order."""
    imported = admin.post("/v1/workflows/import", json={"yaml_content": chain(size)})
    imported.raise_for_status()
    workflow_id = imported.json()["id"]
    key = admin.post(f"/v1/workflows/{workflow_id}/keys", json={}).json()["key"]
    body = {"inputs": {"text": "x"}, "user": "bench", "response_mode": "blocking"}
    with httpx.Client(base_url=server.base_url, timeout=600) as client:
        answer = client.post(
            "/v1/workflows/run", json=body, headers={"Authorization": f"Bearer {key}"}
        )
    run_id = answer.json()["data"]["id"]
    sfn = server.aws("stepfunctions")
    arn = next(
        execution["executionArn"]
        for machine in sfn.list_state_machines()["stateMachines"]
        for execution in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])[
            "executions"
        ]
        if execution["name"] == run_id
    )
    # A blocking run answers within a bound; this one may still be running then.
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        time.sleep(1)
    entered: dict[str, float] = {}
    received: dict[str, int] = {}
    state = ""
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
        for event in page["events"]:
            if event["type"] == "TaskStateEntered":
                state = event["stateEnteredEventDetails"]["name"]
                entered[state] = event["timestamp"].timestamp()
            elif event["type"] == "LambdaFunctionScheduled":  # a Task calling a function
                received[state] = len(event["lambdaFunctionScheduledEventDetails"]["input"])
    names = [f"t{index}" for index in range(size)]
    seconds = [entered[b] - entered[a] for a, b in itertools.pairwise(names)]
    return [received[name] for name in names], seconds


def store_history(server: Server, count: int) -> None:
    """`count` finished runs of another workflow, written straight into the table."""
    dynamodb = server.aws("dynamodb", resource=True)
    table = next(iter(dynamodb.tables.all()))
    with table.batch_writer() as batch:
        for index in range(count):
            run_id = f"history{index:06d}"
            created = f"2026-01-01T00:00:{index % 60:02d}.{index:06d}Z"
            batch.put_item(
                Item={
                    "PK": f"RUN#{run_id}",
                    "SK": META,
                    "GSI1PK": "WF#history#T#bench#RUNS",
                    "GSI1SK": f"{created}#{run_id}",
                    "GSI2PK": "WF#history#T#bench#RUNS#succeeded",
                    "GSI2SK": f"{created}#{run_id}",
                    "status": "succeeded",
                    "body": json.dumps({"id": run_id, "status": "succeeded"}),
                }
            )


def main() -> None:
    if sys.argv[1:] == ["--along"]:  # only the long chain, read node by node
        with running() as server, server.client() as admin:
            print_along(*along_chain(server, admin, ALONG))
        return
    dify_short, dify_long = graphon_seconds(SHORT), graphon_seconds(LONG)
    with running() as server, server.client() as admin:
        ours_short = stepcanvas_seconds(server, admin, SHORT)
        ours_long = stepcanvas_seconds(server, admin, LONG)
        store_history(server, HISTORY)
        ours_after = stepcanvas_seconds(server, admin, SHORT)
        sizes, seconds = along_chain(server, admin, ALONG)
    dify_per_node = (dify_long - dify_short) / (LONG - SHORT)
    ours_per_node = (ours_long - ours_short) / (LONG - SHORT)
    ratio = ours_per_node / dify_per_node
    print(f"{'figure':<52}{'measured':>12}{'goal':>12}{'ratio':>8}")
    print(f"{'graphon, chain of ' + str(SHORT):<52}{dify_short * 1000:>10.1f}ms")
    print(f"{'graphon, chain of ' + str(LONG):<52}{dify_long * 1000:>10.1f}ms")
    print(f"{'stepcanvas, chain of ' + str(SHORT):<52}{ours_short * 1000:>10.1f}ms")
    print(f"{'stepcanvas, chain of ' + str(LONG):<52}{ours_long * 1000:>10.1f}ms")
    print(
        f"{'per added node: stepcanvas vs graphon':<52}{ratio:>11.1f}×{PER_NODE_GOAL:>11.1f}×"
        f"{ratio / PER_NODE_GOAL:>8.2f}"
        f"   ({ours_per_node * 1000:.1f} ms vs {dify_per_node * 1000:.2f} ms)"
    )
    growth = ours_after / ours_short
    print(
        f"{f'chain of {SHORT} after {HISTORY:,} stored runs vs before':<52}{growth:>11.2f}×"
        f"{HISTORY_GOAL:>11.1f}×{growth / HISTORY_GOAL:>8.2f}"
    )
    print_along(sizes, seconds)


def print_along(sizes: list[int], seconds: list[float]) -> None:
    early, late = sizes[:WINDOW], sizes[-WINDOW:]
    print(
        f"{f'task input along a chain of {ALONG}: nodes 1-{WINDOW} / last {WINDOW}':<52}"
        f"{max(early):>9,} B{max(late):>9,} B  late/early {max(late) / max(early):.2f}×"
    )
    early_ms = statistics.median(seconds[:WINDOW]) * 1000
    late_ms = statistics.median(seconds[-WINDOW:]) * 1000
    print(
        f"{f'per node along a chain of {ALONG}: nodes 1-{WINDOW} / last {WINDOW}':<52}"
        f"{early_ms:>9.1f}ms{late_ms:>9.1f}ms  late/early {late_ms / early_ms:.2f}×"
    )


if __name__ == "__main__":
    main()
