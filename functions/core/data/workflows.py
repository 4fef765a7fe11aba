"""Workflow items: the stored document and draft of each workflow, by id and by tenant.

Every write is conditional on the revision it read (optimistic locking): two writers
that read the same item cannot both write it, so a draft save, a publish and a metadata
update never silently undo one another.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from functions.core.data import versions as version_store
from functions.core.data.schema import GSI1, GSI2, META
from functions.core.data.table import dump, key, load, query_all, table
from functions.core.errors import Conflict
from functions.core.model.version import Version


class StaleRevision(Conflict):
    """The item changed (or appeared) since the writer read it."""

    def __init__(self, workflow_id: str) -> None:
        super().__init__(
            f"workflow '{workflow_id}' changed while this request was saving it; "
            "read it again and retry"
        )
        self.workflow_id = workflow_id


def put(record: dict[str, Any], version: Version | None = None) -> dict[str, Any]:
    """Write `record` if the stored item is still at `record["revision"]` (absent: a new
    workflow) and, in the same transaction, the new `version`; returns the record at its
    new revision, or raises StaleRevision and writes neither."""
    expected = record.get("revision")
    stored = {**record, "revision": (expected or 0) + 1}
    write: dict[str, Any] = {
        "TableName": table().name,
        "Item": {
            "PK": f"WF#{record['id']}",
            "SK": META,
            "GSI1PK": f"TENANT#{record['tenantId']}#WF",
            "GSI1SK": f"{record['updatedAt']}#{record['id']}",
            "tenantId": record["tenantId"],
            "revision": stored["revision"],
            "body": dump(stored),
            # Discoverable workflows are listed to every tenant from their own index.
            **(
                {"GSI2PK": DISCOVERABLE, "GSI2SK": f"{record['updatedAt']}#{record['id']}"}
                if record.get("discoverable")
                else {}
            ),
        },
    }
    if expected is None:
        write["ConditionExpression"] = "attribute_not_exists(PK)"
    else:
        write["ConditionExpression"] = "revision = :expected"
        write["ExpressionAttributeValues"] = {":expected": expected}
    try:
        if version is None:
            table().put_item(**{k: v for k, v in write.items() if k != "TableName"})
        else:
            _transact(write, version_store.new_item(version))
    except ClientError as exc:
        if exc.response["Error"]["Code"] in _CONFLICTS:
            raise StaleRevision(record["id"]) from None
        raise
    return stored


DISCOVERABLE = "WF#DISCOVERABLE"
_CONFLICTS = frozenset({"ConditionalCheckFailedException", "TransactionCanceledException"})


def _transact(*puts: dict[str, Any]) -> None:
    # The resource's own client: it serialises plain values as the table resource does.
    table().meta.client.transact_write_items(TransactItems=[{"Put": put} for put in puts])


def get(workflow_id: str) -> dict[str, Any] | None:
    # Consistent: a writer reads the revision it will condition its write on.
    item = (
        table()
        .get_item(Key={"PK": f"WF#{workflow_id}", "SK": META}, ConsistentRead=True)
        .get("Item")
    )
    return load(item["body"]) if item else None


def list_for_tenant(tenant_id: str) -> list[dict[str, Any]]:
    items = query_all(
        IndexName=GSI1,
        KeyConditionExpression=key("GSI1PK").eq(f"TENANT#{tenant_id}#WF"),
        ScanIndexForward=False,
    )
    return [load(item["body"]) for item in items]


def list_discoverable() -> list[dict[str, Any]]:
    items = query_all(
        IndexName=GSI2,
        KeyConditionExpression=key("GSI2PK").eq(DISCOVERABLE),
        ScanIndexForward=False,
    )
    return [load(item["body"]) for item in items]


def delete(workflow_id: str) -> None:
    """The workflow item and its versions."""
    version_store.delete_all(workflow_id)
    table().delete_item(Key={"PK": f"WF#{workflow_id}", "SK": META})
