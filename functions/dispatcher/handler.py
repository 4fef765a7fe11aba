"""The dispatcher function: drains the trigger queue, one run per delivery.

Powertools batch processing reports each failed message back to SQS (partial batch
failures), so one bad message never holds the others back; after a few receives SQS moves
it to the dead-letter queue. Powertools idempotency, keyed on the delivery (workflow,
kind, id: the schedule tick, event id, object write or webhook call), makes a redelivered
message return the first delivery's run, and the run id derived from the same key makes
even a concurrent duplicate start nothing (functions/core/services/triggers.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

from functions.core.observability import traced
from functions.core.services import idempotency, triggers
from functions.core.triggers.messages import MESSAGE

logger = Logger(service="stepcanvas-dispatcher")
# A batch whose every message failed is reported like any other, message by message, so
# SQS counts each receive toward its redrive to the DLQ the same way.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

# Longer than SQS keeps a message (4 days by default) and than Scheduler retries.
IDEMPOTENCY_SECONDS = 7 * 24 * 3600

CONFIG = IdempotencyConfig(
    event_key_jmespath="[workflowId, kind, id]", expires_after_seconds=IDEMPOTENCY_SECONDS
)
_Start = Callable[..., dict[str, Any]]
_started: tuple[Any, _Start] | None = None


def _start_once() -> _Start:
    """The idempotent start, bound to this process's idempotency store."""
    global _started  # noqa: PLW0603 - one binding per process, rebuilt with a new store
    store = idempotency.persistence("dispatcher")
    if _started is None or _started[0] is not store:

        @idempotent_function(  # type: ignore[untyped-decorator]  # Powertools: untyped
            data_keyword_argument="delivery", persistence_store=store, config=CONFIG
        )
        def start(delivery: dict[str, Any]) -> dict[str, Any]:
            message = MESSAGE.validate_python(delivery["message"])
            run = triggers.dispatch(message)
            return {"runId": run.id if run else None}

        _started = (store, start)
    return _started[1]


def record_handler(record: SQSRecord) -> dict[str, Any]:
    # A malformed body raises here: the message fails, and SQS redrives it to the DLQ.
    message = MESSAGE.validate_json(record.body)
    delivery = {
        "workflowId": message.workflow_id,
        "kind": message.kind,
        "id": message.id,
        "message": message.model_dump(mode="json", by_alias=True),
    }
    started = _start_once()(delivery=delivery)
    logger.info(
        "trigger dispatched",
        extra={"workflowId": message.workflow_id, "kind": message.kind, **started},
    )
    return started


@traced
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # Lets an in-progress record expire with this invocation if the function times out.
    CONFIG.register_lambda_context(context)
    response: dict[str, Any] = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )  # type: ignore[assignment]  # a TypedDict of the same shape
    return response
