"""Concurrent requests over real HTTP: the local gateway serves them at once, as API
Gateway does with one Lambda environment per request, and none sees another's state."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.local_server import Server

pytestmark = pytest.mark.xdist_group("local-server")

# Labels of three tenants, each made afresh by its key ("tenant": "new").
TENANTS = ("a", "b", "c")
THREADS_PER_TENANT = 8
ROUNDS = 3


def _workflow(name: str) -> dict[str, Any]:
    return {"name": name, "nodes": [{"id": "a", "type": "tool-call", "config": {"tool": "echo"}}]}


def _keys(server: Server) -> dict[str, str]:
    keys = {}
    with server.client() as admin:
        for tenant in TENANTS:
            answer = admin.post(
                "/v1/keys", json={"name": tenant, "scopes": ["write"], "tenant": "new"}
            )
            assert answer.status_code == 201, answer.text
            keys[tenant] = answer.json()["key"]
    return keys


def test_three_tenants_hammering_at_once_each_see_exactly_their_own(server: Server) -> None:
    keys = _keys(server)
    start = threading.Barrier(len(TENANTS) * THREADS_PER_TENANT)

    def hammer(tenant: str, worker: int) -> tuple[str, list[str], set[str]]:
        """Create workflows and read them back; what this tenant was shown."""
        made, seen = [], set()
        with server.client(keys[tenant]) as client:
            start.wait()
            for round_ in range(ROUNDS):
                created = client.post(
                    "/v1/workflows", json=_workflow(f"{tenant}/{worker}/{round_}")
                )
                assert created.status_code == 201, created.text
                made.append(created.json()["id"])
                listed = client.get("/v1/workflows")
                assert listed.status_code == 200, listed.text
                seen |= {w["name"] for w in listed.json()["workflows"]}
                one = client.get(f"/v1/workflows/{made[-1]}")
                assert one.status_code == 200, one.text
                seen.add(one.json()["name"])
        return tenant, made, seen

    jobs = [(t, w) for t in TENANTS for w in range(THREADS_PER_TENANT)]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        outcomes = list(pool.map(lambda job: hammer(*job), jobs))

    for tenant, _made, seen in outcomes:
        assert {name.split("/")[0] for name in seen} == {tenant}, (tenant, seen)
    # Each workflow was stored in the tenant that created it, and only there.
    with server.client(keys[TENANTS[0]]) as first:
        for tenant, made, _seen in outcomes:
            for workflow_id in made:
                expected = 200 if tenant == TENANTS[0] else 404
                assert first.get(f"/v1/workflows/{workflow_id}").status_code == expected
    with server.client(keys[TENANTS[1]]) as second:
        listed = {w["name"] for w in second.get("/v1/workflows").json()["workflows"]}
    expected_names = {
        f"{TENANTS[1]}/{worker}/{round_}"
        for worker in range(THREADS_PER_TENANT)
        for round_ in range(ROUNDS)
    }
    assert listed == expected_names
