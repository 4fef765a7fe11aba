"""The one table: its handle (see functions/core/aws_clients.py) and the body encoding."""

from __future__ import annotations

import json
from typing import Any

from functions.core.aws_clients import table

__all__ = ["dump", "load", "query_all", "table"]


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
