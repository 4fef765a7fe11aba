"""API keys: created and shown once, stored as SHA-256, each scoped to one tenant."""

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


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """Who is calling: resolved by the authorizer, trusted by every route after it."""

    key_id: str
    tenant_id: str
    scopes: frozenset[Scope]

    def allows(self, scope: Scope) -> bool:
        # admin implies write implies read.
        order = [Scope.READ, Scope.WRITE, Scope.ADMIN]
        return any(order.index(held) >= order.index(scope) for held in self.scopes)


def digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create(tenant_id: str, name: str, scopes: set[Scope]) -> tuple[str, dict[str, Any]]:
    """Returns the plaintext key (never stored, never shown again) and the public record."""
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    record = {
        "keyId": new_id(),
        "tenantId": tenant_id,
        "name": name,
        "scopes": sorted(s.value for s in scopes),
        "prefix": plaintext[:10],
        "createdAt": clock.iso(),
    }
    key_store.put(digest(plaintext), record)
    return plaintext, record


def authenticate(plaintext: str) -> Principal | None:
    item = key_store.get_by_hash(digest(plaintext))
    if item is None:
        return None
    return Principal(
        key_id=item["keyId"],
        tenant_id=item["tenantId"],
        scopes=frozenset(Scope(s) for s in item["scopes"]),
    )


def list_all(tenant_id: str) -> list[dict[str, Any]]:
    return [public(item) for item in key_store.list_for_tenant(tenant_id)]


def revoke(tenant_id: str, key_id: str) -> None:
    for item in key_store.list_for_tenant(tenant_id):
        if item["keyId"] == key_id:
            key_store.delete(item)
            return
    raise NotFound("key", key_id)


def public(item: dict[str, Any]) -> dict[str, Any]:
    fields = ("keyId", "tenantId", "name", "scopes", "prefix", "createdAt")
    return {field: item[field] for field in fields}
