"""The local gateway serves the api function as Lambda does: one request at a time.

Powertools keeps the current request in class-level state, so two requests served at once
by one resolver read each other's event: another tenant's data, another key's verdict.
"""

from __future__ import annotations

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

TENANTS = ("tenant-a", "tenant-b")


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


def test_concurrent_requests_of_two_tenants_each_see_only_their_own(
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
        seen = list(pool.map(list_as, [TENANTS[i % 2] for i in range(24)]))
    assert all(names == {tenant} for tenant, names in seen), seen
