"""API keys. Account keys, for admins: /v1/keys. App keys (the service API of one
workflow), for writers: /v1/workflows/{id}/keys. A new key is shown once, when created."""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, Field

from functions.api import bodies
from functions.api.context import require
from functions.api.contract import Face, documented
from functions.core.ids import new_id
from functions.core.services import keys, workflows
from functions.core.services.keys import Scope

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


class KeyBody(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1)
    # "new" provisions a fresh, isolated tenant whose first key this is.
    tenant: Literal["own", "new"] = "own"


@router.post("/v1/keys")
@documented(Face.ACCOUNT, "keys", success=201, body=KeyBody)
def create_key() -> tuple[dict[str, Any], int]:
    body = bodies.read(KeyBody, router)
    caller = require(router, Scope.ADMIN)
    tenant = caller.tenant_id if body.tenant == "own" else new_id()
    plaintext, record = keys.create(tenant, body.name, set(body.scopes))
    return {**record, "key": plaintext}, 201


@router.get("/v1/keys")
@documented(Face.ACCOUNT, "keys")
def list_keys() -> dict[str, Any]:
    caller = require(router, Scope.ADMIN)
    return {"keys": keys.list_all(caller.tenant_id)}


@router.delete("/v1/keys/<key_id>")
@documented(Face.ACCOUNT, "keys")
def delete_key(key_id: str) -> dict[str, Any]:
    caller = require(router, Scope.ADMIN)
    keys.revoke(caller.tenant_id, key_id)
    return {"success": True}


class AppKeyBody(BaseModel):
    name: str = Field(default="app key", min_length=1, max_length=100)


@router.post("/v1/workflows/<workflow_id>/keys")
@documented(Face.ACCOUNT, "keys", success=201, body=AppKeyBody)
def create_app_key(workflow_id: str) -> tuple[dict[str, Any], int]:
    """An app key for the workflow's service API (Dify's app API key), shown once."""
    body = bodies.read(AppKeyBody, router)
    caller = require(router, Scope.WRITE)
    workflows.get(caller.tenant_id, workflow_id)
    plaintext, record = keys.create_app_key(caller.tenant_id, workflow_id, body.name)
    return {**record, "key": plaintext}, 201


@router.get("/v1/workflows/<workflow_id>/keys")
@documented(Face.ACCOUNT, "keys")
def list_app_keys(workflow_id: str) -> dict[str, Any]:
    caller = require(router, Scope.READ)
    workflows.get(caller.tenant_id, workflow_id)
    return {"keys": keys.list_app_keys(caller.tenant_id, workflow_id)}


@router.delete("/v1/workflows/<workflow_id>/keys/<key_id>")
@documented(Face.ACCOUNT, "keys")
def delete_app_key(workflow_id: str, key_id: str) -> dict[str, Any]:
    caller = require(router, Scope.WRITE)
    keys.revoke(caller.tenant_id, key_id, workflow_id=workflow_id)
    return {"success": True}
