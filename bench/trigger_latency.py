"""Trigger figures on the local server (`python -m local`), measured against goals:

- fire -> `running` for each trigger type, median of N: from the moment the trigger fires
  (an event published, an object uploaded through the AWS endpoint, a signed webhook
  sent; for cron, the minute the schedule is due) to the run being listed as running or
  later (polled every 20 ms);
- the dispatcher function's cold import, against `import boto3` alone (fresh processes).

    python -m bench.trigger_latency [--samples 10]

The cron figure waits for the next minute once: N workflows share one `* * * * *` tick.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from tests.local_server import ROOT, running

ECHO = [{"id": "echo", "type": "tool-call", "config": {"tool": "echo", "input": {"x": 1}}}]
# Goals: a trigger's run is running within a second of firing (cron: of its minute);
# the dispatcher imports in at most twice the time boto3 alone takes.
GOALS = {"event": 1.0, "s3": 1.0, "webhook": 1.0, "cron": 2.0}
IMPORT_GOAL_RATIO = 2.0


def _create(http: httpx.Client, trigger: dict[str, object]) -> dict[str, object]:
    answer = http.post("/v1/workflows", json={"name": "bench", "trigger": trigger, "nodes": ECHO})
    answer.raise_for_status()
    created: dict[str, object] = answer.json()
    return created


def _seen_running(http: httpx.Client, workflow_id: object, count: int = 1) -> float:
    deadline = time.time() + 90
    while time.time() < deadline:
        runs = http.get(f"/v1/workflows/{workflow_id}/runs").json()["runs"]
        if len(runs) >= count and all(r["status"] != "pending" for r in runs):
            return time.time()
        time.sleep(0.02)
    raise SystemExit(f"no run of {workflow_id} reached running")


def _sample(
    http: httpx.Client, samples: int, fire: Callable[[], object], workflow_id: object
) -> list[float]:
    timings = []
    for index in range(samples):
        fired = time.time()
        fire()
        timings.append(_seen_running(http, workflow_id, index + 1) - fired)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=10)
    samples = parser.parse_args().samples
    figures: dict[str, list[float]] = {}
    with running() as server:
        headers = {"X-API-Key": server.admin_key}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as http:
            event = _create(http, {"type": "event", "event": "bench.tick"})
            figures["event"] = _sample(
                http,
                samples,
                lambda: http.post("/v1/events", json={"type": "bench.tick", "data": {}}),
                event["id"],
            )
            upload = _create(http, {"type": "s3", "prefix": "bench/"})
            location = str(upload["trigger"]["s3Uri"]).removeprefix("s3://")  # type: ignore[index]
            bucket, _, prefix = location.partition("/")
            s3 = server.aws("s3")
            counter = iter(range(samples))
            figures["s3"] = _sample(
                http,
                samples,
                lambda: s3.put_object(Bucket=bucket, Key=f"{prefix}{next(counter)}.txt", Body=b"x"),
                upload["id"],
            )
            hook = _create(http, {"type": "webhook"})
            url = hook["trigger"]["webhook"]["url"]  # type: ignore[index]
            secret = hook["trigger"]["webhook"]["secret"]  # type: ignore[index]
            bodies = iter(range(samples))

            def call_webhook() -> object:
                body = json.dumps({"n": next(bodies)}).encode()
                stamp = int(time.time())
                mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
                signature = {"X-Stepcanvas-Signature": f"t={stamp},v1={mac.hexdigest()}"}
                return httpx.post(url, content=body, headers=signature)

            figures["webhook"] = _sample(http, samples, call_webhook, hook["id"])
            figures["cron"] = _cron(http, samples)
    for kind, timings in figures.items():
        median = statistics.median(timings)
        print(
            f"{kind:8} fire -> running: median {median * 1000:6.0f} ms "
            f"(max {max(timings) * 1000:.0f}) goal {GOALS[kind] * 1000:.0f} ms "
            f"ratio {median / GOALS[kind]:.2f}"
        )
    dispatcher, boto = _import_seconds("functions.dispatcher.handler"), _import_seconds("boto3")
    print(
        f"dispatcher cold import {dispatcher * 1000:.0f} ms vs import boto3 {boto * 1000:.0f} ms: "
        f"{dispatcher / boto:.2f}x, goal {IMPORT_GOAL_RATIO:.1f}x "
        f"ratio {dispatcher / boto / IMPORT_GOAL_RATIO:.2f}"
    )


def _cron(http: httpx.Client, samples: int) -> list[float]:
    ids = [_create(http, {"type": "cron", "schedule": "* * * * *"})["id"] for _ in range(samples)]
    now = datetime.now(UTC)
    due = now.replace(second=0, microsecond=0).timestamp() + 60
    timings = [_seen_running(http, workflow_id) - due for workflow_id in ids]
    for workflow_id in ids:
        http.delete(f"/v1/workflows/{workflow_id}")
    return timings


def _import_seconds(module: str, repeats: int = 5) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = []
    for _ in range(repeats):
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
        )
        runs.append(float(done.stdout))
    return statistics.median(runs)


if __name__ == "__main__":
    main()
