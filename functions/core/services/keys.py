"""API keys: created and shown once, stored as SHA-256, each scoped to one tenant.

Two kinds: account keys (scopes read/write/admin) reach the management faces; app keys
belong to one workflow and reach only the service API (Dify's "app API key").
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from functions.core import clock
from functions.core.data import keys as key_store
from functions.core.errors import NotFound
from functions.core.ids import new_id

KEY_PREFIX = "sc_"
# Dify's app keys start with "app-"; ours too, so a key tells at a glance what it opens.
APP_KEY_PREFIX = "app-"


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


class KeyKind(StrEnum):
    ACCOUNT = "account"
    APP = "app"


# The routes an app key may call: the service API, nothing else (`*`: one path segment).
# The authorizer allows exactly these, so API Gateway refuses the rest before any function.
APP_KEY_ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", "/v1/workflows/run"),
    ("GET", "/v1/workflows/run/*"),
    ("POST", "/v1/workflows/tasks/*/stop"),
    ("GET", "/v1/workflows/logs"),
    ("POST", "/v1/workflows/*/run"),
    ("GET", "/v1/parameters"),
    ("GET", "/v1/info"),
    ("POST", "/v1/files/upload"),
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: resolved by the authorizer, trusted by every route after it."""

    key_id: str
    tenant_id: str
    scopes: frozenset[Scope]
    kind: KeyKind = KeyKind.ACCOUNT
    # The one workflow an app key runs; None for account keys.
    workflow_id: str | None = None

    def allows(self, scope: Scope) -> bool:
        # admin implies write implies read; an app key holds no scope.
        order = [Scope.READ, Scope.WRITE, Scope.ADMIN]
        return any(order.index(held) >= order.index(scope) for held in self.scopes)


def digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create(tenant_id: str, name: str, scopes: set[Scope]) -> tuple[str, dict[str, Any]]:
    """Returns the plaintext key (never stored, never shown again) and the public record."""
    return _create(KEY_PREFIX, tenant_id, name, sorted(s.value for s in scopes), {})


def create_app_key(tenant_id: str, workflow_id: str, name: str) -> tuple[str, dict[str, Any]]:
    """A key for the service API of one workflow (the caller checked it is the tenant's)."""
    return _create(
        APP_KEY_PREFIX,
        tenant_id,
        name,
        [],
        {"kind": KeyKind.APP.value, "workflowId": workflow_id},
    )


def _create(
    prefix: str, tenant_id: str, name: str, scopes: list[str], extra: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    plaintext = prefix + secrets.token_urlsafe(32)
    record = {
        "keyId": new_id(),
        "tenantId": tenant_id,
        "name": name,
        "scopes": scopes,
        "prefix": plaintext[:10],
        "createdAt": clock.iso(),
        **extra,
    }
    key_store.put(digest(plaintext), record)
    return plaintext, public(record)


def authenticate(plaintext: str) -> Principal | None:
    item = key_store.get_by_hash(digest(plaintext))
    if item is None:
        return None
    return Principal(
        key_id=item["keyId"],
        tenant_id=item["tenantId"],
        scopes=frozenset(Scope(s) for s in item["scopes"]),
        # Keys stored before app keys existed carry no kind: they are account keys.
        kind=KeyKind(item.get("kind", KeyKind.ACCOUNT.value)),
        workflow_id=item.get("workflowId"),
    )


def list_all(tenant_id: str) -> list[dict[str, Any]]:
    return [public(item) for item in key_store.list_for_tenant(tenant_id)]


def list_app_keys(tenant_id: str, workflow_id: str) -> list[dict[str, Any]]:
    return [k for k in list_all(tenant_id) if k.get("workflowId") == workflow_id]


def revoke(tenant_id: str, key_id: str, workflow_id: str | None = None) -> None:
    """Revoke one of the tenant's keys; with `workflow_id`, only an app key of that workflow."""
    for item in key_store.list_for_tenant(tenant_id):
        if item["keyId"] == key_id and workflow_id in (None, item.get("workflowId")):
            key_store.delete(item)
            return
    raise NotFound("key", key_id)


def public(item: dict[str, Any]) -> dict[str, Any]:
    fields = ("keyId", "tenantId", "name", "scopes", "prefix", "createdAt")
    view = {field: item[field] for field in fields}
    view["kind"] = item.get("kind", KeyKind.ACCOUNT.value)
    if item.get("workflowId"):
        view["workflowId"] = item["workflowId"]
    return view
