"""API key items: only the SHA-256 of a key is ever stored."""

from __future__ import annotations

from typing import Any

from functions.core.data.schema import GSI1, META
from functions.core.data.table import key, query_all, table


def put(key_hash: str, record: dict[str, Any]) -> None:
    table().put_item(
        Item={
            "PK": f"KEY#{key_hash}",
            "SK": META,
            "GSI1PK": f"TENANT#{record['tenantId']}#KEYS",
            "GSI1SK": f"{record['createdAt']}#{record['keyId']}",
            **record,
        }
    )


def get_by_hash(key_hash: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        table().get_item(Key={"PK": f"KEY#{key_hash}", "SK": META}).get("Item")
    )
    return item


def list_for_tenant(tenant_id: str) -> list[dict[str, Any]]:
    return query_all(
        IndexName=GSI1,
        KeyConditionExpression=key("GSI1PK").eq(f"TENANT#{tenant_id}#KEYS"),
        ScanIndexForward=False,
    )


def delete(item: dict[str, Any]) -> None:
    table().delete_item(Key={"PK": item["PK"], "SK": META})
