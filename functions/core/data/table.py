"""The boto3 handle on the one table; created lazily so importing a handler costs nothing."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import boto3

from functions.core.settings import get_settings


@lru_cache(maxsize=1)
def table() -> Any:
    settings = get_settings()
    return boto3.resource("dynamodb", region_name=settings.region).Table(settings.table_name)


def reset() -> None:
    """Forget the cached handle (tests and local/ switch between moto sessions)."""
    table.cache_clear()


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
