"""The local stand-in answers a base-table Query from the queried partition alone
(local/aws.py `_query_one_partition`): the answer must be DynamoDB's, whatever else the
table holds — order, direction, key conditions, pages and index queries included."""

from __future__ import annotations

from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from functions.core.data.table import table

pytestmark = pytest.mark.usefixtures("local_aws")


def _fill() -> None:
    with table().batch_writer() as batch:
        for partition in ("P#a", "P#b", "P#c"):
            for sort in (5, 1, 4, 2, 3):
                batch.put_item(
                    Item={
                        "PK": partition,
                        "SK": f"S#{sort}",
                        "GSI1PK": "INDEXED",
                        "GSI1SK": f"{partition}#{sort}",
                    }
                )


def _query(**kwargs: Any) -> list[str]:
    items: list[dict[str, Any]] = []
    while True:
        page = table().query(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return [f"{item['PK']} {item['SK']}" for item in items]
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_a_base_table_query_reads_its_partition_in_sort_order() -> None:
    _fill()
    assert _query(KeyConditionExpression=Key("PK").eq("P#b")) == [
        f"P#b S#{n}" for n in (1, 2, 3, 4, 5)
    ]
    assert _query(KeyConditionExpression=Key("PK").eq("P#b"), ScanIndexForward=False) == [
        f"P#b S#{n}" for n in (5, 4, 3, 2, 1)
    ]
    between = Key("PK").eq("P#c") & Key("SK").between("S#2", "S#4")
    assert _query(KeyConditionExpression=between, Limit=1) == ["P#c S#2", "P#c S#3", "P#c S#4"]
    assert _query(KeyConditionExpression=Key("PK").eq("P#none")) == []


def test_an_index_query_still_reads_every_partition() -> None:
    _fill()
    found = _query(IndexName="GSI1", KeyConditionExpression=Key("GSI1PK").eq("INDEXED"))
    assert len(found) == 15
    assert found[:2] == ["P#a S#1", "P#a S#2"]
