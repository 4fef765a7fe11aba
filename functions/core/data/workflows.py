"""Workflow items: the stored document of each workflow, by id and by tenant."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key

from functions.core.data.schema import GSI1, META
from functions.core.data.table import dump, load, query_all, table


def put(record: dict[str, Any]) -> None:
    table().put_item(
        Item={
            "PK": f"WF#{record['id']}",
            "SK": META,
            "GSI1PK": f"TENANT#{record['tenantId']}#WF",
            "GSI1SK": f"{record['updatedAt']}#{record['id']}",
            "tenantId": record["tenantId"],
            "body": dump(record),
        }
    )


def get(workflow_id: str) -> dict[str, Any] | None:
    item = table().get_item(Key={"PK": f"WF#{workflow_id}", "SK": META}).get("Item")
    return load(item["body"]) if item else None


def list_for_tenant(tenant_id: str) -> list[dict[str, Any]]:
    items = query_all(
        IndexName=GSI1,
        KeyConditionExpression=Key("GSI1PK").eq(f"TENANT#{tenant_id}#WF"),
        ScanIndexForward=False,
    )
    return [load(item["body"]) for item in items]


def delete(workflow_id: str) -> None:
    table().delete_item(Key={"PK": f"WF#{workflow_id}", "SK": META})
