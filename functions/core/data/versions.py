"""Version items: each workflow's published versions, under the workflow's partition."""

from __future__ import annotations

from typing import Any

from functions.core.data.table import dump, key, load, query_all, table
from functions.core.model.version import Version

_PREFIX = "VER#"


def _sort_key(number: int) -> str:
    # Zero-padded so the sort key orders versions by number.
    return f"{_PREFIX}{number:08d}"


def new_item(version: Version) -> dict[str, Any]:
    """The conditional put of a new version, written with its workflow item (workflows.put):
    a number is taken once."""
    return {
        "TableName": table().name,
        "ConditionExpression": "attribute_not_exists(PK)",
        "Item": {
            "PK": f"WF#{version.workflow_id}",
            "SK": _sort_key(version.number),
            "body": dump(version.model_dump(mode="json")),
        },
    }


def get(workflow_id: str, number: int) -> Version | None:
    item = table().get_item(Key={"PK": f"WF#{workflow_id}", "SK": _sort_key(number)}).get("Item")
    return Version.model_validate(load(item["body"])) if item else None


def list_for_workflow(workflow_id: str) -> list[Version]:
    """Newest first."""
    items = query_all(
        KeyConditionExpression=key("PK").eq(f"WF#{workflow_id}") & key("SK").begins_with(_PREFIX),
        ScanIndexForward=False,
    )
    return [Version.model_validate(load(item["body"])) for item in items]


def delete_all(workflow_id: str) -> None:
    items = query_all(
        KeyConditionExpression=key("PK").eq(f"WF#{workflow_id}") & key("SK").begins_with(_PREFIX),
        ProjectionExpression="PK, SK",
    )
    with table().batch_writer() as batch:
        for item in items:
            batch.delete_item(Key={"PK": item["PK"], "SK": item["SK"]})
