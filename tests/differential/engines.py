"""The two engines a differential case runs on, each answering the same `Outcome`.

Dify's own engine (`graphon`) runs in its own Python 3.12 virtualenv, made by the test
set-up (`make graphon`), through `graphon_runner.py` in one process per batch. Stepcanvas
runs each case as a user would: the Dify DSL imported over HTTP into the real local server,
run through the service API with an app key, its executed nodes read from the v1 run view.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.local_server import ROOT, Server

GRAPHON_PYTHON = Path(
    os.environ.get("GRAPHON_PYTHON", ROOT / ".venv" / "graphon" / "bin" / "python")
)
RUNNER = Path(__file__).with_name("graphon_runner.py")
# Runs at once against the local server: its engine is CPU-bound, one run per core.
PARALLEL_RUNS = 2
# How long a run may take (a loop of several rounds on a busy machine is slow).
FINISH_SECONDS = 180


@dataclass(frozen=True)
class Case:
    yaml: str
    inputs: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    # succeeded | partial-succeeded | failed | stopped | refused (the DSL was not accepted)
    status: str
    outputs: dict[str, Any] | None
    executed: frozenset[str]
    error: str | None = None


def dify(cases: list[Case]) -> list[Outcome]:
    """Each case run by Dify's engine, in one process."""
    if not GRAPHON_PYTHON.exists():
        raise AssertionError(
            f"{GRAPHON_PYTHON} is missing: `make graphon` installs Dify's engine (make test does)"
        )
    answer = subprocess.run(
        [str(GRAPHON_PYTHON), str(RUNNER)],
        input=json.dumps([{"yaml": c.yaml, "inputs": c.inputs} for c in cases]),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if answer.returncode != 0:
        raise AssertionError(f"graphon_runner failed:\n{answer.stderr[-4000:]}")
    return [
        Outcome(
            status="refused" if r["status"] == "error" else r["status"],
            outputs=r["outputs"],
            executed=frozenset(r["executed"]),
            error=r["error"],
        )
        for r in json.loads(answer.stdout)
    ]


def stepcanvas(server: Server, cases: list[Case]) -> list[Outcome]:
    """Each case run by Stepcanvas's local server; a document is imported once."""
    with server.client() as admin:
        apps = {yaml: _import(admin, yaml) for yaml in dict.fromkeys(c.yaml for c in cases)}

        def run(case: Case) -> Outcome:
            app = apps[case.yaml]
            if isinstance(app, Outcome):
                return app
            return _run(server, admin, *app, case.inputs)

        with ThreadPoolExecutor(PARALLEL_RUNS) as pool:
            return list(pool.map(run, cases))


def _import(admin: httpx.Client, yaml: str) -> tuple[str, str] | Outcome:
    imported = admin.post("/v1/workflows/import", json={"yaml_content": yaml})
    if imported.status_code != 201:
        return Outcome("refused", None, frozenset(), imported.text)
    workflow_id: str = imported.json()["id"]
    key: str = admin.post(f"/v1/workflows/{workflow_id}/keys", json={}).json()["key"]
    return workflow_id, key


def _run(
    server: Server,
    admin: httpx.Client,
    workflow_id: str,
    key: str,
    inputs: dict[str, Any],
) -> Outcome:
    body = {"inputs": inputs, "user": "differential", "response_mode": "blocking"}
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        answer = client.post(
            "/v1/workflows/run", json=body, headers={"Authorization": f"Bearer {key}"}
        )
        if answer.status_code != 200:
            return Outcome("refused", None, frozenset(), answer.text)
        data = answer.json()["data"]
        deadline = time.monotonic() + FINISH_SECONDS
        while data["status"] == "running" and time.monotonic() < deadline:
            # Past the blocking bound: the run goes on, its detail shows how it ends.
            time.sleep(0.5)
            detail = _get(client, f"/v1/workflows/run/{data['id']}", f"Bearer {key}")
            data = detail
    steps = _get(admin, f"/v1/workflows/{workflow_id}/runs/{data['id']}")["stepResults"]
    return Outcome(
        status=data["status"],
        outputs=data["outputs"],
        executed=frozenset(s["nodeId"] for s in steps),
        error=data["error"],
    )


def _get(client: httpx.Client, path: str, authorization: str | None = None) -> Any:
    """A read, once more if the server closed the kept-alive connection as it was reused
    (a reset is no answer; reads are safe to repeat)."""
    headers = {"Authorization": authorization} if authorization else {}
    try:
        return client.get(path, headers=headers).json()
    except httpx.TransportError:
        return client.get(path, headers=headers).json()
