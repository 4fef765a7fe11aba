"""The README's v1 walkthrough, run verbatim with bash against the real local server."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.local_server import Server
from tests.readme import walkthrough

pytestmark = pytest.mark.xdist_group("local-server")


def _run(server: Server, name: str) -> str:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", walkthrough(name)],
        env={
            **os.environ,
            "BASE": server.base_url,
            "KEY": server.admin_key,
            "AWS": server.aws_endpoint,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_readme_walkthrough_creates_runs_and_reads_step_results(server: Server) -> None:
    answer = json.loads(_run(server, "walkthrough"))
    assert answer["status"] == "completed"
    steps = {s["nodeId"]: s for s in answer["stepResults"]}
    assert list(steps) == ["fetch", "analyze", "notify"]
    assert all(s["status"] == "success" for s in steps.values())
    assert steps["fetch"]["result"] == {"building": "A", "devices": 12}
    assert steps["analyze"]["result"] == "[local:local] Summarise 12 devices in A"
    assert steps["notify"]["result"]["messageId"]


def test_readme_trigger_walkthrough_starts_a_run_from_each_trigger(server: Server) -> None:
    cron, published, event_run, s3_run, accepted, webhook_run = (
        json.loads(line) for line in _run(server, "walkthrough-triggers").splitlines()
    )
    assert cron["type"] == "cron" and len(cron["nextRuns"]) == 3
    assert all(fire.endswith("+08:00") for fire in cron["nextRuns"])
    assert published["matched"] == 1 and published["eventId"]
    assert event_run == {
        "triggeredBy": "event",
        "triggerData": {
            **event_run["triggerData"],
            "type": "device.alarm",
            "data": {"level": "high"},
        },
    }
    assert s3_run["triggeredBy"] == "s3"
    assert s3_run["triggerData"]["key"].endswith("/inbox/report.csv")
    assert s3_run["triggerData"]["contentType"] == "text/csv"
    assert accepted["runId"]
    assert webhook_run["triggeredBy"] == "webhook"
    assert webhook_run["triggerData"]["body"] == {"order": 42}


def test_readme_canvas_walkthrough_drafts_runs_traces_and_publishes(server: Server) -> None:
    saved, run, traces, api = (
        json.loads(line) for line in _run(server, "walkthrough-canvas").splitlines()
    )
    assert saved == {"problems": []}
    assert run == {"status": "succeeded", "version": "draft", "data": {"greeting": "Hello, Ada!"}}
    assert [t["nodeId"] for t in traces] == ["start", "greet", "end"]
    assert all(t["status"] == "succeeded" for t in traces)
    assert traces[1]["outputs"] == {"output": "Hello, Ada!"}
    assert api["workflow_id"].endswith("-v1")
    assert api["outputs"] == {"greeting": "Hello, Grace!"}
