"""`stepcanvas` commands against the real local server, run as a user runs them: their
standard output, standard error and exit codes."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_cost_http import settled
from tests.cli.conftest import Cli
from tests.local_server import ROOT, Server, running

pytestmark = pytest.mark.xdist_group("cli")

DIFY_ECHO = ROOT.parent / "shared/conformance/dify/dify_fixture__simple_passthrough_workflow.yml"
DEMO = ROOT / "local/demo_workflow.json"
ID = re.compile(r"^\w{10,}$")
FIGURES = ("min", "typical", "max")
FAILING = {
    "name": "fails at parse",
    "nodes": [
        # json_parse without its json_string: the node fails, and so does the run.
        {"id": "parse", "type": "tool-call", "config": {"tool": "json_parse", "input": {}}},
        {"id": "after", "type": "tool-call", "config": {"tool": "echo", "input": {}}},
    ],
    "edges": [{"from": "parse", "to": "after"}],
}
REFUSED = {
    "name": "refused",
    "nodes": [{"id": "a", "type": "tool-call", "config": {"tool": "nope"}}],
    "edges": [{"from": "a", "to": "b"}],
}


def _file(tmp_path: Path, name: str, content: dict[str, Any] | str) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _id(cli: Cli, *args: str) -> str:
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    value = done.stdout.strip()
    assert ID.match(value), done.stdout
    return value


def _finished(server: Server, workflow_id: str, run_id: str) -> dict[str, Any]:
    with server.client() as client:
        for _ in range(200):
            run: dict[str, Any] = client.get(f"/v1/workflows/{workflow_id}/runs/{run_id}").json()
            if run["status"] in ("completed", "failed"):
                return run
            time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")


def _node_lines(stdout: str) -> list[tuple[str, str]]:
    """(status word, node) for each node line of a live view."""
    found = re.findall(r"^\s*\+\d+\.\d+s\s+(started|succeeded|failed)\s+(\S+)", stdout, re.M)
    return [(status, node) for status, node in found]


def test_import_of_a_dify_dsl_file_prints_the_new_workflows_id(cli: Cli, server: Server) -> None:
    workflow_id = _id(cli, "import", str(DIFY_ECHO))
    with server.client() as client:
        saved = client.get(f"/v1/workflows/{workflow_id}").json()
    assert saved["name"] == "echo"
    assert saved["version"] == 1
    assert {n["data"]["type"] for n in saved["graph"]["nodes"]} == {"start", "end"}


def test_import_of_a_v1_json_document_prints_the_new_workflows_id(cli: Cli, server: Server) -> None:
    done = cli("import", str(DEMO))
    assert done.returncode == 0, done.stderr
    workflow_id = done.stdout.strip()
    assert "imported 'Daily device check' as " + workflow_id in done.stderr
    with server.client() as client:
        saved = client.get(f"/v1/workflows/{workflow_id}").json()
    assert [n["id"] for n in saved["nodes"]] == ["fetch", "analyze", "check", "notify", "log"]


def test_a_refused_import_prints_every_problem_and_exits_1(cli: Cli, tmp_path: Path) -> None:
    done = cli("import", str(_file(tmp_path, "refused.json", REFUSED)))
    assert done.returncode == 1
    assert done.stdout == ""
    assert "refused: 400 invalid_workflow" in done.stderr
    assert "• edge a->b: refers to unknown node 'b'" in done.stderr
    assert "• node 'a': config.tool: unknown tool 'nope'" in done.stderr
    dsl = DIFY_ECHO.read_text().replace("type: end", "type: teleport")
    done = cli("import", str(_file(tmp_path, "refused.yml", dsl)))
    assert done.returncode == 1
    assert re.search(r"• node '\d+' \(End\): node type 'teleport' is not supported", done.stderr)


def test_validate_lists_the_problems_and_saves_nothing(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    with server.client() as client:
        before = client.get("/v1/workflows").json()["total"]
        refused = cli("validate", str(_file(tmp_path, "refused.json", REFUSED)))
        valid = cli("validate", str(DIFY_ECHO))
        assert client.get("/v1/workflows").json()["total"] == before
    assert refused.returncode == 1
    assert "2 problem(s)" in refused.stdout
    assert "• edge a->b: refers to unknown node 'b'" in refused.stdout
    assert valid.returncode == 0, valid.stdout
    assert "valid ('echo', 2 nodes)" in valid.stdout


def test_run_follow_prints_each_node_start_and_finish_and_exits_0(cli: Cli, server: Server) -> None:
    workflow_id = _id(cli, "import", str(DEMO))
    done = cli("run", workflow_id, "--input", "building=A", "--follow")
    assert done.returncode == 0, done.stdout + done.stderr
    ran = ["fetch", "analyze", "check", "notify"]
    assert _node_lines(done.stdout) == [(s, n) for n in ran for s in ("started", "succeeded")]
    assert re.search(r"run \w+ of workflow " + workflow_id + " version 1 started", done.stdout)
    assert re.search(r"run \w+ succeeded in \d+\.\d+s · 4 of 5 nodes ran", done.stdout)
    assert "4/4 nodes" in done.stdout  # the progress bar, printed once when piped
    # The run is the workflow's, and the app key made for the stream is gone.
    with server.client() as client:
        runs = client.get(f"/v1/workflows/{workflow_id}/runs").json()["runs"]
        assert [r["status"] for r in runs] == ["completed"]
        assert runs[0]["triggerData"] == {"building": "A"}
        assert client.get(f"/v1/workflows/{workflow_id}/keys").json()["keys"] == []


def test_run_follow_of_a_failing_workflow_exits_1(cli: Cli, server: Server, tmp_path: Path) -> None:
    workflow_id = _id(cli, "import", str(_file(tmp_path, "failing.json", FAILING)))
    done = cli("run", workflow_id, "--follow")
    assert done.returncode == 1
    assert _node_lines(done.stdout) == [("started", "parse"), ("failed", "parse")]
    assert "input.json_string is required" in done.stdout
    assert re.search(r"run \w+ failed in \d+\.\d+s · 1 of 2 nodes ran", done.stdout)


def test_run_follow_refused_before_the_run_prints_the_refusal(cli: Cli, server: Server) -> None:
    done = cli("run", "no-such-workflow", "--follow")
    assert done.returncode == 1
    assert done.stdout == ""
    assert "refused: 404 not_found" in done.stderr


def test_run_prints_the_run_id_and_runs_lists_it(cli: Cli, server: Server) -> None:
    workflow_id = _id(cli, "import", str(DEMO))
    run_id = _id(cli, "run", workflow_id, "--input", "building=B", "--input", "floors:=[1, 2]")
    run = _finished(server, workflow_id, run_id)
    assert run["triggerData"] == {"building": "B", "floors": [1, 2]}
    done = cli("runs", workflow_id)
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if run_id in line)
    assert re.search(r"succeeded\s*│\s*api\s*│\s*1\s*│", row), row
    listed = json.loads(cli("runs", workflow_id, "--json").stdout)
    assert [r["id"] for r in listed["runs"]] == [run_id]


def test_show_prints_the_step_results_as_a_table(cli: Cli, server: Server) -> None:
    workflow_id = _id(cli, "import", str(DEMO))
    run_id = _id(cli, "run", workflow_id, "--data", '{"building": "C"}')
    _finished(server, workflow_id, run_id)
    done = cli("show", run_id)
    assert done.returncode == 0, done.stderr
    assert re.search(r"status\s+succeeded", done.stdout)
    rows = [line for line in done.stdout.splitlines() if line.startswith("│")]
    assert [row.split("│")[2].strip() for row in rows] == ["fetch", "analyze", "check", "notify"]
    assert '{"building": "C", "devices": 12}' in rows[0]
    assert "[local:local] Summarise devices of C: 12" in rows[1]
    # What the finished run used: its execution history's transitions, its log's writes.
    with server.client() as client:
        run = settled(client, f"/v1/runs/{run_id}", client.get(f"/v1/runs/{run_id}").json())
    usage = run["usage"]
    done = cli("show", run_id)
    used = f"{usage['transitions']} state transitions, {usage['writes']} DynamoDB writes"
    assert re.search(r"used\s+" + used, done.stdout), done.stdout
    shown = json.loads(cli("show", run_id, "--workflow", workflow_id, "--json").stdout)
    assert shown["id"] == run_id and len(shown["stepResults"]) == 4


def test_tail_prints_the_runs_node_events_and_its_outcome(
    cli: Cli, server: Server, tmp_path: Path
) -> None:
    workflow_id = _id(cli, "import", str(DEMO))
    run_id = _id(cli, "run", workflow_id, "--input", "building=D")
    done = cli("tail", run_id)
    assert done.returncode == 0, done.stdout + done.stderr
    ran = ["fetch", "analyze", "check", "notify"]
    assert _node_lines(done.stdout) == [(s, n) for n in ran for s in ("started", "succeeded")]
    assert f"run {run_id} succeeded" in done.stdout
    failing = _id(cli, "import", str(_file(tmp_path, "failing.json", FAILING)))
    failed_run = _id(cli, "run", failing)
    done = cli("tail", failed_run, "--workflow", failing)
    assert done.returncode == 1
    assert _node_lines(done.stdout) == [("started", "parse"), ("failed", "parse")]
    missing = cli("tail", "no-such-run")
    assert missing.returncode == 1 and "refused: 404 not_found" in missing.stderr


SLOW = {
    "name": "slow",
    "nodes": [
        {"id": "first", "type": "ai-generate", "config": {"prompt": "answer slowly"}},
        {"id": "second", "type": "ai-generate", "config": {"prompt": "answer slowly"}},
    ],
    "edges": [{"from": "first", "to": "second"}],
}


def test_tail_resumes_the_runs_stream_after_each_time_bound(tmp_path: Path) -> None:
    # Streams end after 1 s, each node takes 1.5 s: the run outlives several streams.
    env = {
        "SERVICE_STREAM_SECONDS": "1",
        "LOCAL_LLM_REPLIES": json.dumps({"slowly": {"text": "late", "delay_ms": 1500}}),
    }
    with running(env) as slow_server:
        cli = Cli(slow_server, tmp_path / "no-saved-key.json")
        workflow_id = _id(cli, "import", str(_file(tmp_path, "slow.json", SLOW)))
        run_id = _id(cli, "run", workflow_id)
        done = cli("tail", run_id)
    assert done.returncode == 0, done.stdout + done.stderr
    ran = [(s, n) for n in ("first", "second") for s in ("started", "succeeded")]
    assert _node_lines(done.stdout) == ran  # each event once, none lost between streams
    assert re.search(rf"run {run_id} succeeded in \d+\.\d+s · 2 of 2 nodes ran", done.stdout)


def test_cost_prints_the_estimate_per_run_and_per_1000_runs(cli: Cli, server: Server) -> None:
    workflow_id = _id(cli, "import", str(DEMO))
    done = cli("cost", workflow_id)
    assert done.returncode == 0, done.stderr
    with server.client() as client:
        estimate = client.get(f"/v1/workflows/{workflow_id}/cost").json()

    def row(label: str, after: str = "") -> list[str]:
        lines = done.stdout.splitlines()
        start = next(i for i, line in enumerate(lines) if after in line) if after else 0
        line = next(line for line in lines[start:] if line.startswith(f"│ {label} "))
        return [cell.strip() for cell in line.strip("│").split("│")[1:]]

    per_run = estimate["perRun"]
    assert row("state transitions") == [f"{per_run[f]['transitions']:g}" for f in FIGURES]
    assert row("DynamoDB writes") == [f"{per_run[f]['dynamodbWrites']:g}" for f in FIGURES]
    for kind in ("standard", "express"):
        prices = estimate["per1000Runs"][kind]
        shown = row("  total", after=f"{kind.capitalize()}, USD per 1,000 runs")
        assert shown == [f"${prices[f]['total']:.4f}" for f in FIGURES]
    assert f"workflow {workflow_id}, version 1, runs as standard" in done.stdout
    assert "us-east-1 list prices" in done.stderr and "10 items per iteration" in done.stderr
    fewer = json.loads(cli("cost", workflow_id, "--items", "2", "--json").stdout)
    assert fewer["assumptions"]["items"] == 2
    refused = cli("cost", "no-such-workflow")
    assert refused.returncode == 1 and "refused: 404 not_found" in refused.stderr
    assert cli("cost", workflow_id, "--items", "-1").returncode == 2


def test_keys_create_list_and_revoke(cli: Cli, server: Server) -> None:
    workflow_id = _id(cli, "import", str(DEMO))
    created = cli("keys", "create", "ci reader", "--scope", "read")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("sc_")
    assert "shown once" in created.stderr
    key_id = re.search(r"key (\w+) 'ci reader' \(read", created.stderr)
    assert key_id, created.stderr
    listed = cli("keys", "list")
    row = next(line for line in listed.stdout.splitlines() if key_id.group(1) in line)
    assert "ci reader" in row and "account" in row and "read" in row
    # The key reads, may not write, and once revoked is refused.
    assert cli("runs", workflow_id, key=key).returncode == 0
    refused = cli("run", workflow_id, key=key)
    assert refused.returncode == 1
    assert "refused: 403 forbidden" in refused.stderr
    revoked = cli("keys", "revoke", key_id.group(1))
    assert revoked.returncode == 0 and f"revoked {key_id.group(1)}" in revoked.stdout
    assert "refused: 401" in cli("runs", workflow_id, key=key).stderr
    assert key_id.group(1) not in cli("keys", "list").stdout


def test_usage_errors_and_an_unreachable_server_are_explained(cli: Cli) -> None:
    both = cli("run", "wf", "--data", "{}", "--input", "a=b")
    assert both.returncode == 2 and "give --data or --input, not both" in both.stderr
    done = cli("runs", "wf", key="")
    assert done.returncode == 2 and "no API key" in done.stderr
    cli.server = dataclasses.replace(cli.server, base_url="http://127.0.0.1:9")
    done = cli("runs", "wf")
    assert done.returncode == 1 and "cannot reach http://127.0.0.1:9" in done.stderr


def test_without_url_or_key_the_saved_local_ones_are_used(cli: Cli, server: Server) -> None:
    cli.key_file.write_text(json.dumps({"url": server.base_url, "key": server.admin_key}))
    done = cli("keys", "list", unset=("STEPCANVAS_URL", "STEPCANVAS_KEY"))
    assert done.returncode == 0, done.stderr
    assert "local admin" in done.stdout
    # The saved key belongs to the saved URL: it is never sent to another deployment.
    elsewhere = dataclasses.replace(cli.server, base_url="http://127.0.0.1:9")
    done = Cli(elsewhere, cli.key_file)("runs", "wf", unset=("STEPCANVAS_KEY",))
    assert done.returncode == 2 and "no API key" in done.stderr
