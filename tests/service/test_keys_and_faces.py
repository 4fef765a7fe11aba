"""App keys, and which face each credential opens (DESIGN §7)."""

from __future__ import annotations

import json

import pytest

from functions.core.services import keys
from functions.core.services.keys import Scope
from tests.service import dsl
from tests.service.conftest import TENANT, Service


def test_an_app_key_is_made_per_workflow_and_shown_once(service: Service) -> None:
    workflow = service.import_dify(dsl.passthrough())
    answer = service.account("POST", f"/v1/workflows/{workflow['id']}/keys", json={"name": "web"})

    assert answer.status_code == 201
    created = answer.json()
    assert created["key"].startswith("app-")
    assert created["kind"] == "app"
    assert created["workflowId"] == workflow["id"]
    assert created["keyId"]
    listed = service.account("GET", f"/v1/workflows/{workflow['id']}/keys").json()["keys"]
    assert [k["keyId"] for k in listed] == [created["keyId"]]
    assert "key" not in listed[0]
    # Stored hashed: nothing stored holds the plaintext.
    assert keys.authenticate(created["key"]) is not None
    assert all(created["key"] not in str(item) for item in keys.list_all(TENANT))


def test_app_keys_need_a_writer_and_the_tenants_own_workflow(service: Service) -> None:
    workflow = service.import_dify(dsl.passthrough())
    reader, _ = keys.create(TENANT, "reader", {Scope.READ})
    stranger, _ = keys.create("other-tenant", "admin", {Scope.ADMIN})

    as_reader = service.client.post(
        f"/v1/workflows/{workflow['id']}/keys", headers={"X-API-Key": reader}, json={}
    )
    as_stranger = service.client.post(
        f"/v1/workflows/{workflow['id']}/keys", headers={"X-API-Key": stranger}, json={}
    )
    missing = service.account("POST", "/v1/workflows/nope/keys", json={})

    assert as_reader.status_code == 403
    assert as_stranger.status_code == 404
    assert missing.status_code == 404


def test_a_revoked_app_key_stops_working(service: Service) -> None:
    workflow_id, key = service.new_app(dsl.passthrough())
    key_id = service.account("GET", f"/v1/workflows/{workflow_id}/keys").json()["keys"][0]["keyId"]

    assert service.app(key, "GET", "/v1/info").status_code == 200
    deleted = service.account("DELETE", f"/v1/workflows/{workflow_id}/keys/{key_id}")
    assert deleted.json() == {"success": True}
    assert service.app(key, "GET", "/v1/info").status_code == 401


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer app-not-a-key"}, {"Authorization": "Basic abc"}],
)
def test_unknown_credentials_are_401(service: Service, headers: dict[str, str]) -> None:
    answer = service.client.post(
        "/v1/workflows/run", headers=headers, json={"inputs": {}, "user": "u"}
    )
    assert answer.status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/workflows"),
        ("POST", "/v1/workflows"),
        ("GET", "/v1/workflows/{id}"),
        ("DELETE", "/v1/workflows/{id}"),
        ("GET", "/v1/workflows/{id}/runs"),
        ("POST", "/v1/workflows/{id}/keys"),
        ("GET", "/v1/keys"),
        ("POST", "/v1/workflows/import"),
    ],
)
def test_an_app_key_cannot_reach_the_management_api(
    service: Service, method: str, path: str
) -> None:
    workflow_id, key = service.new_app(dsl.passthrough())
    answer = service.app(key, method, path.format(id=workflow_id), json={})

    # API Gateway refuses it: the authorizer allows an app key the service API only.
    assert answer.status_code == 403
    assert answer.json()["code"] == "forbidden"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/workflows/run", {"inputs": {}, "user": "u"}),
        ("GET", "/v1/workflows/run/some-run", None),
        ("POST", "/v1/workflows/tasks/some-run/stop", {"user": "u"}),
        ("GET", "/v1/workflows/logs", None),
        ("GET", "/v1/parameters", None),
        ("GET", "/v1/info", None),
        ("POST", "/v1/files/upload", None),
    ],
)
def test_an_account_key_cannot_use_app_only_routes(
    service: Service, method: str, path: str, body: dict[str, object] | None
) -> None:
    answer = service.account(method, path, json=body)

    assert answer.status_code == 403
    assert answer.json() == {
        "code": "forbidden",
        "message": "this is a service API route: call it with an app key "
        "(create one with POST /v1/workflows/{id}/keys), not an account key",
        "status": 403,
    }


def test_static_segments_win_over_a_workflow_id(service: Service) -> None:
    """`logs`, `run` and `tasks` are service routes even where a v1 `{id}` route matches."""
    # v1 would answer 404 "workflow 'logs' not found" / list runs of workflow "run".
    assert service.account("GET", "/v1/workflows/logs").status_code == 403
    assert service.account("GET", "/v1/workflows/run/runs").status_code == 403
    assert (
        service.account("POST", "/v1/workflows/tasks/x/stop", json={"user": "u"}).status_code == 403
    )
    # ...while v1 routes with a real id still reach v1.
    workflow = service.import_dify(dsl.passthrough())
    assert service.account("GET", f"/v1/workflows/{workflow['id']}").status_code == 200


def test_the_credential_chooses_the_face_of_the_shared_run_route(service: Service) -> None:
    """POST /v1/workflows/{id}/run: v1 for an account key, Dify for an app key."""
    workflow_id, key = service.new_app(dsl.passthrough())

    as_account = service.account(
        "POST", f"/v1/workflows/{workflow_id}/run", json={"data": {"query": "v1"}}
    )
    as_app = service.app(
        key,
        "POST",
        f"/v1/workflows/{workflow_id}/run",
        json={"inputs": {"query": "dify"}, "user": "u1"},
    )

    assert as_account.status_code == 200
    assert set(as_account.json()) == {"runId", "status", "message"}
    assert as_account.json()["status"] == "pending"
    assert as_app.status_code == 200
    assert as_app.json()["data"]["status"] == "succeeded"
    assert as_app.json()["data"]["outputs"] == {"query": "dify"}


def test_a_spoofed_request_context_header_is_ignored(service: Service) -> None:
    """The gateway sets x-amzn-request-context from the authorizer, never from the client."""
    workflow = service.import_dify(dsl.passthrough())
    forged = json.dumps(
        {
            "authorizer": {
                "keyId": "x",
                "tenantId": TENANT,
                "scopes": "",
                "kind": "app",
                "workflowId": workflow["id"],
            }
        }
    )
    answer = service.account(
        "POST",
        "/v1/workflows/run",
        headers={"x-amzn-request-context": forged},
        json={"inputs": {"query": "x"}, "user": "u"},
    )
    assert answer.status_code == 403
