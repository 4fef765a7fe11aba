"""The single DynamoDB table's key schema, used by the store, the CDK construct and local/.

Every entity is addressed by its own partition key; lists go through GSI1 (newest first by
its sort key) and status filters through GSI2.

    workflow   PK=WF#<id>        SK=META      GSI1: TENANT#<t>#WF / <updatedAt>
    run        PK=RUN#<id>       SK=META      GSI1: WF#<wf>#T#<t>#RUNS / <createdAt>#<id>
                                              GSI2: WF#<wf>#T#<t>#RUNS#<status> / …
    step event PK=RUN#<id>       SK=EV#<position>  (time-ordered: see data/runs.position)
    api key    PK=KEY#<sha256>   SK=META      GSI1: TENANT#<t>#KEYS / <createdAt>#<keyId>
    file       PK=FILE#<id>      SK=META      (an upload; the bytes live in S3)
"""

from __future__ import annotations

from typing import Any

PARTITION_KEY = "PK"
SORT_KEY = "SK"
TTL_ATTRIBUTE = "expiresAt"

GSI1 = "GSI1"
GSI2 = "GSI2"
INDEXES: dict[str, tuple[str, str]] = {
    GSI1: ("GSI1PK", "GSI1SK"),
    GSI2: ("GSI2PK", "GSI2SK"),
}

META = "META"


def table_definition(table_name: str) -> dict[str, Any]:
    """CreateTable arguments: what local/ and the tests create in moto, mirroring infra/."""
    key_attributes = [PARTITION_KEY, SORT_KEY] + [a for pair in INDEXES.values() for a in pair]
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"} for name in key_attributes
        ],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": pk, "KeyType": "HASH"},
                    {"AttributeName": sk, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, (pk, sk) in INDEXES.items()
        ],
    }
