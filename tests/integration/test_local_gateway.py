"""The local gateway stands in for API Gateway in front of the api function.

It serves requests at once, as API Gateway does with one Lambda environment per request:
Powertools keeps the current request in class-level state, so the api function's resolver
keeps it per thread (functions/api/resolver.py); with the class-level state two requests
served at once read each other's event: another tenant's data, another key's verdict. It
passes bodies on as sent, and what it refuses itself answers in the API's error shape, as
infra/api.py's gateway responses do.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from functions.api import context
from functions.core.model import v1_format
from functions.core.model.v1_format import V1WorkflowBody
from functions.core.services import workflows
from functions.core.services.keys import Principal
from local import aws, gateway
from tests.integration.conftest import Api

TENANTS = ("tenant-a", "tenant-b", "tenant-c")


def _event(tenant: str) -> dict[str, Any]:
    authorizer = {"tenantId": tenant, "keyId": f"key-{tenant}", "scopes": "admin"}
    return {
        "resource": "/{proxy+}",
        "path": "/v1/workflows",
        "httpMethod": "GET",
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "pathParameters": {"proxy": "v1/workflows"},
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": "GET",
            "path": "/local/v1/workflows",
            "stage": "local",
            "requestId": tenant,
            "authorizer": {**authorizer, "principalId": tenant},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def test_concurrent_requests_of_three_tenants_each_see_only_their_own(
    local_aws: aws.LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    for tenant in TENANTS:
        body = V1WorkflowBody.model_validate(
            {
                "name": tenant,
                "nodes": [{"id": "a", "type": "tool-call", "config": {"tool": "echo"}}],
            }
        )
        workflows.create(tenant, v1_format.to_draft(body))
    read_principal: Callable[[BaseRouter], Principal] = context.principal

    def slow_principal(router: BaseRouter) -> Principal:
        # Widens the window between "the resolver took this event" and "the route read it".
        time.sleep(0.02)
        return read_principal(router)

    monkeypatch.setattr(context, "principal", slow_principal)

    def list_as(tenant: str) -> tuple[str, set[str]]:
        answer = gateway.invoke_api(_event(tenant))
        names = {w["name"] for w in json.loads(answer["body"])["workflows"]}
        return tenant, names

    with ThreadPoolExecutor(max_workers=8) as pool:
        seen = list(pool.map(list_as, [TENANTS[i % len(TENANTS)] for i in range(24)]))
    assert all(names == {tenant} for tenant, names in seen), seen


def test_a_text_body_that_is_not_utf8_reaches_the_function_as_sent(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[dict[str, Any]] = []
    invoke = gateway.invoke_api

    def recording(event: dict[str, Any]) -> dict[str, Any]:
        events.append(event)
        return invoke(event)

    monkeypatch.setattr(gateway, "invoke_api", recording)
    sent = b'{"name":"\xff"}'
    headers = {**api.headers, "Content-Type": "application/json"}
    answer = api.client.post("/v1/workflows", content=sent, headers=headers)
    # As API Gateway passes it on: the bytes as sent, base64 since they are no text.
    assert events[-1]["isBase64Encoded"] is True
    assert base64.b64decode(events[-1]["body"]) == sent
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "invalid_param"
    assert "not valid UTF-8" in answer.json()["message"]
    # A UTF-8 text body still travels as text.
    api.client.post("/v1/workflows", content='{"name":"é"}'.encode(), headers=headers)
    assert events[-1]["isBase64Encoded"] is False and events[-1]["body"] == '{"name":"é"}'


@pytest.mark.parametrize(
    ("request_line", "with_key", "status", "code"),
    [
        ("GET /v1/nope", True, 404, "not_found"),  # the api function: no such route
        ("PATCH /v1/workflows", True, 404, "not_found"),  # no such method on the route
        ("OPTIONS /v1/workflows", True, 405, "method_not_allowed"),  # the gateway's own
        ("OPTIONS /v1/hooks/some-id", False, 405, "method_not_allowed"),
        ("GET /v1/workflows", False, 401, "unauthorized"),  # the gateway's authorizer
    ],
)
def test_refusals_of_the_gateway_and_the_router_have_the_error_shape(
    api: Api, request_line: str, with_key: bool, status: int, code: str
) -> None:
    method, path = request_line.split()
    answer = api.client.request(method, path, headers=api.headers if with_key else {})
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert body == {"code": code, "message": body["message"], "status": status}
    assert isinstance(body["message"], str) and body["message"]
