"""Uploaded file items: what /v1/files/upload stored in S3, found again by the file's id."""

from __future__ import annotations

from typing import Any

from functions.core.data.schema import META
from functions.core.data.table import dump, load, table


def put(record: dict[str, Any]) -> None:
    table().put_item(
        Item={"PK": f"FILE#{record['id']}", "SK": META, "body": dump(record)},
    )


def get(file_id: str) -> dict[str, Any] | None:
    item = table().get_item(Key={"PK": f"FILE#{file_id}", "SK": META}).get("Item")
    record: dict[str, Any] | None = load(item["body"]) if item else None
    return record
