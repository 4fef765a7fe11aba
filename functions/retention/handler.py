"""The retention function: deletes the S3 objects of runs whose records DynamoDB's TTL
deleted (DESIGN §6; functions/core/services/retention.py).

It reads the table's stream. The event source mapping's filter (TTL_DELETIONS, set by
infra/retention.py) lets through only TTL's own deletions of run records: not a user's
delete, not an event item, not an idempotency record; the function checks again, so a
record that slips through is ignored rather than acted on. A failing record is reported
(partial batch response): Lambda retries from it, then parks it in the failure queue.
Locally, local/triggers.py `expire` deletes due items as TTL would and calls this handler
with the records the stream would carry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from functions.core.data.schema import META
from functions.core.observability import traced
from functions.core.services import retention

logger = Logger(service="stepcanvas-retention")
processor = BatchProcessor(
    event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False
)

# Who a TTL deletion is made by, in the stream record's userIdentity.
TTL_PRINCIPAL = "dynamodb.amazonaws.com"
RUN_KEY_PREFIX = "RUN#"
# The Lambda event filter pattern: the REMOVE records of run items that TTL made.
TTL_DELETIONS: dict[str, Any] = {
    "eventName": ["REMOVE"],
    "userIdentity": {"type": ["Service"], "principalId": [TTL_PRINCIPAL]},
    "dynamodb": {
        "Keys": {"PK": {"S": [{"prefix": RUN_KEY_PREFIX}]}, "SK": {"S": [META]}},
    },
}


def is_ttl_deletion(record: Mapping[str, Any]) -> bool:
    """Whether a stream record is one TTL_DELETIONS lets through."""
    identity = record.get("userIdentity") or {}
    keys = (record.get("dynamodb") or {}).get("Keys") or {}
    return (
        record.get("eventName") == "REMOVE"
        and identity.get("type") == "Service"
        and identity.get("principalId") == TTL_PRINCIPAL
        and (keys.get("SK") or {}).get("S") == META
        and str((keys.get("PK") or {}).get("S", "")).startswith(RUN_KEY_PREFIX)
    )


def record_handler(record: DynamoDBRecord) -> int:
    if not is_ttl_deletion(record.raw_event):
        logger.warning("not a TTL deletion of a run; ignored", extra={"id": record.event_id})
        return 0
    run_id = record.raw_event["dynamodb"]["Keys"]["PK"]["S"].removeprefix(RUN_KEY_PREFIX)
    deleted = retention.purge(run_id)
    logger.info("run objects deleted", extra={"run_id": run_id, "objects": deleted})
    return deleted


@traced
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    response: dict[str, Any] = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )  # type: ignore[assignment]  # a TypedDict of the same shape
    return response
