"""The one table: its handle (see functions/core/aws_clients.py) and the body encoding."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from functions.core.aws_clients import table

if TYPE_CHECKING:
    from boto3.dynamodb.conditions import Attr, Key

__all__ = ["attr", "dump", "key", "load", "query_all", "table"]


# Conditions are built through these so that importing a data module does not import
# boto3 (boto3.dynamodb.conditions loads all of it): a handler pays for boto3 on its first
# call to AWS, as functions/core/aws_clients.py intends, not at import.
def key(name: str) -> Key:
    """A key condition on attribute `name`."""
    from boto3.dynamodb.conditions import Key  # noqa: PLC0415 - on first use (see above)

    return Key(name)


def attr(name: str) -> Attr:
    """A filter or write condition on attribute `name`."""
    from boto3.dynamodb.conditions import Attr  # noqa: PLC0415 - on first use (see above)

    return Attr(name)


def dump(value: Any) -> str:
    # Bodies are stored as JSON text: no Decimal round trip, types come back exactly.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def load(text: str | None) -> Any:
    return json.loads(text) if text else None


def query_all(**kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = table().query(**kwargs)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page or (
            kwargs.get("Limit") and len(items) >= kwargs["Limit"]
        ):
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
