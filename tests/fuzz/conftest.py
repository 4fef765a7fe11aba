"""The fuzz run's world: the real local server, a tenant of its own with an account key,
and an app key of one published workflow in that tenant, all made through the API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.local_server import Server, running
from tests.service import dsl


@dataclass(frozen=True)
class Keys:
    account: str
    app: str
    tenant_id: str
    workflow_id: str
    # A workflow of the tenant's for the account face to fuzz (edit, run, delete), apart
    # from the app key's, which the service API's cases need intact.
    target_id: str
    base_url: str


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    with running() as started:
        yield started


@pytest.fixture(scope="session")
def keys(server: Server) -> Keys:
    # A tenant of its own: what the fuzzer creates or breaks stays out of the demo's.
    with server.client() as admin:
        made = admin.post(
            "/v1/keys",
            json={"name": "fuzz", "scopes": ["read", "write", "admin"], "tenant": "new"},
        )
        assert made.status_code == 201, made.text
        account = made.json()["key"]
    with server.client(account) as client:
        imported = client.post("/v1/workflows/import", json={"yaml_content": dsl.passthrough()})
        assert imported.status_code == 201, imported.text
        workflow_id = imported.json()["id"]
        app = client.post(f"/v1/workflows/{workflow_id}/keys", json={"name": "fuzz"})
        assert app.status_code == 201, app.text
        tenant_id = client.get("/apps").json()["data"][0]["id"]
        target = client.post("/v1/workflows/import", json={"yaml_content": dsl.passthrough()})
        assert target.status_code == 201, target.text
    return Keys(
        account=account,
        app=app.json()["key"],
        tenant_id=tenant_id,
        workflow_id=workflow_id,
        target_id=target.json()["id"],
        base_url=server.base_url,
    )
