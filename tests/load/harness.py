"""Many runs at once through the real local server, and the books kept on them: which
runs each request created, how long each create took, and where every run ended.

Shared by tests/load/test_load_and_faults.py (which asserts on the books) and
bench/load.py (which prints the figures). Runs are created through the v1 face
(`POST /v1/workflows/{id}/run`, answered at once with the run id), each with its own
Idempotency-Key; some requests are sent twice with the same key, as a client retrying
after a lost answer would, and must name the same run.
"""

from __future__ import annotations

import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from tests.local_server import Server

# A one-node workflow: what is measured is the engine's cost per run, not a node's.
ECHO_WORKFLOW = {
    "name": "load: echo",
    "nodes": [
        {
            "id": "echo",
            "type": "tool-call",
            "config": {"tool": "echo", "input": {"n": "{{trigger.data.n}}"}},
        }
    ],
}
# Cortex's names for a run that has ended.
ENDED = ("COMPLETED", "FAILED", "CANCELLED")


@dataclass
class Books:
    """What a load round did: the run each request named, and each create's latency."""

    workflow_id: str
    # Request number -> the run id its first answer named.
    created: dict[int, str] = field(default_factory=dict)
    # Request number -> the run id its retry (same Idempotency-Key) named.
    retried: dict[int, str] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # Run id -> the status the run list showed last (Cortex's names: COMPLETED, …).
    final: dict[str, str] = field(default_factory=dict)
    # How many runs the workflow's run list counts.
    listed: int = 0

    @property
    def runs_per_second(self) -> float:
        return len(self.created) / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else 0.0


def new_workflow(client: httpx.Client) -> str:
    created = client.post("/v1/workflows", json=ECHO_WORKFLOW)
    assert created.status_code == 201, created.text
    workflow_id: str = created.json()["id"]
    return workflow_id


def load(server: Server, runs: int, concurrency: int, retry_every: int = 10) -> Books:
    """Create `runs` runs of a fresh echo workflow, `concurrency` requests at a time, and
    wait until every run has ended (or two minutes have passed)."""
    with server.client() as client:
        books = Books(workflow_id=new_workflow(client))

    def create(number: int) -> None:
        key = {"Idempotency-Key": f"load-{uuid.uuid4().hex}"}
        path = f"/v1/workflows/{books.workflow_id}/run"
        body = {"data": {"n": number}}
        with server.client() as client:
            begun = time.perf_counter()
            answer = client.post(path, json=body, headers=key)
            books.latencies_ms.append((time.perf_counter() - begun) * 1000)
            if answer.status_code != 200:
                books.refused.append(f"{answer.status_code} {answer.text}")
                return
            books.created[number] = answer.json()["runId"]
            if number % retry_every == 0:
                again = client.post(path, json=body, headers=key)
                books.retried[number] = again.json().get("runId", again.text)

    begun = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(create, range(runs)))
    books.seconds = time.perf_counter() - begun
    settle(server, books, seconds=120)
    return books


def settle(server: Server, books: Books, seconds: float) -> None:
    """Read the workflow's run list (Cortex's, which pages through all of its runs) until
    every run has ended or `seconds` ran out: one request per hundred runs a round, so the
    reading does not slow the runs it waits for. Duplicates would show in its count."""
    deadline = time.monotonic() + seconds
    with server.client() as client:
        tenant = client.get("/apps").json()["data"][0]["id"]
        path = f"/apps/{tenant}/workflows/{books.workflow_id}/runs"
        while True:
            listed: dict[str, str] = {}
            page, count = 1, 1
            while len(listed) < count:
                answer = client.get(path, params={"take": 100, "page": page}).json()
                count = answer["pagination"]["count"]
                listed.update({run["id"]: run["status"] for run in answer["data"]})
                page += 1
                if not answer["data"]:
                    break
            books.final, books.listed = listed, count
            if all(s in ENDED for s in listed.values()) or time.monotonic() > deadline:
                return
            time.sleep(0.5)
