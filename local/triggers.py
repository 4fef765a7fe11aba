"""What AWS does by itself and moto does not: fire the stored schedules, run the
dispatcher function on what reaches the trigger queue, and expire items as DynamoDB TTL
does, running the retention function on the deletions as the table's stream would.

moto keeps Scheduler's schedules but never fires them, no SQS or DynamoDB stream event
source mapping invokes a function, and TTL deletes nothing. This pump does all three: at
each new minute it sends every enabled schedule that fires then (in its own time zone) to
its target, as Scheduler would; it polls the queue, hands each batch to the real
dispatcher handler, and deletes what the handler did not report as failed (failed ones
come back, then go to the DLQ). On a thread of its own, so a big expiry never holds up a
trigger, it deletes the items whose TTL has passed every EXPIRE_SECONDS and hands the real
retention handler the stream records its event filter lets through (`expire`).
EventBridge rules need nothing here: moto delivers bus and S3 events to the queue itself.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from moto.dynamodb.models import dynamodb_backends

from functions.core.aws_clients import client, table
from functions.core.data.schema import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE
from functions.core.settings import get_settings
from functions.core.triggers import cron, sources
from functions.core.triggers.messages import SCHEDULED_TIME
from functions.dispatcher import handler as dispatcher
from functions.retention import handler as retention
from local.aws import ACCOUNT, PREFIX, REGION, FunctionContext

logger = Logger(service="stepcanvas-local-triggers")

DISPATCHER = f"{PREFIX}-dispatcher"
RETENTION = f"{PREFIX}-retention"
# How often due items are deleted (DynamoDB's TTL takes up to 48 h; reads hide due runs at
# once, so only the bucket and the table wait for this).
EXPIRE_SECONDS = 10.0
# DynamoDB TTL leaves alone items whose TTL is more than five years in the past.
TTL_HORIZON_SECONDS = 5 * 365 * 24 * 3600
# Records per retention invocation (infra/retention.py's batch size).
STREAM_BATCH = 100
# Stream sequence numbers: increasing, and unique (a failure report names its record).
_sequence = itertools.count(time.time_ns())


# The pump waits this long for a message (SQS long polling: moto wakes the receive when
# one is sent), so an idle server costs nothing and schedules are checked each second.
RECEIVE_WAIT_SECONDS = 1


class TriggerPump:
    def __init__(self, expire_seconds: float = EXPIRE_SECONDS) -> None:
        self._expire_seconds = expire_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="trigger-pump", daemon=True)
        self._expiry = threading.Thread(target=self._expire_loop, name="ttl-expiry", daemon=True)
        # Schedules fire from the next minute on, as a new schedule in AWS does.
        self._ticked = _minute(datetime.now(UTC))

    def start(self) -> TriggerPump:
        self._thread.start()
        self._expiry.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._expiry.join(timeout=5)

    def _expire_loop(self) -> None:
        while not self._stop.wait(self._expire_seconds):
            try:
                expire()
            except Exception:  # TTL goes on whatever one round met
                logger.exception("the local TTL expiry failed a round")

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                minute = _minute(datetime.now(UTC))
                if minute > self._ticked:
                    self._ticked = minute
                    tick(minute)
                drain(wait_seconds=RECEIVE_WAIT_SECONDS)
            except Exception:  # a bad schedule or message must not stop every trigger
                logger.exception("the local trigger pump failed a round")
                self._stop.wait(RECEIVE_WAIT_SECONDS)


def tick(minute: datetime) -> int:
    """Send every enabled schedule that fires in `minute` to its target; how many did."""
    fired = 0
    for schedule in sources.list_schedules():
        if schedule.get("State") != "ENABLED" or not _fires(schedule, minute):
            continue
        target = schedule["Target"]
        scheduled = minute.strftime("%Y-%m-%dT%H:%M:%SZ")
        _sqs().send_message(
            QueueUrl=_queue_url(target["Arn"]),
            MessageBody=target["Input"].replace(SCHEDULED_TIME, scheduled),
        )
        fired += 1
    return fired


def _fires(schedule: dict[str, Any], minute: datetime) -> bool:
    parsed = cron.parse(schedule["ScheduleExpression"], schedule["ScheduleExpressionTimezone"])
    if parsed.rate_seconds is None:
        return parsed.fires_at(minute.astimezone(parsed.zone))
    created = _minute(schedule["CreationDate"].astimezone(UTC))
    elapsed = (minute - created).total_seconds()
    return elapsed > 0 and elapsed % parsed.rate_seconds == 0


def drain(wait_seconds: int = 0) -> int:
    """Hand one batch of the queue to the dispatcher (waiting up to `wait_seconds` for a
    first message); how many messages it held."""
    queue_url = get_settings().trigger_queue_url
    answer = _sqs().receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=10,
        AttributeNames=["All"],
        WaitTimeSeconds=wait_seconds,
    )
    received = answer.get("Messages", [])
    if not received:
        return 0
    event = {"Records": [_record(message) for message in received]}
    result = dispatcher.handler(event, FunctionContext(DISPATCHER))
    failed = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])}
    for message in received:
        if message["MessageId"] in failed:
            # Visible again at once (SQS would wait out the visibility timeout).
            _sqs().change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        else:
            _sqs().delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return len(received)


def expire(now: float | None = None) -> int:
    """Delete every item whose TTL has passed, as DynamoDB TTL does, and hand the retention
    function the stream records of those deletions that its event filter lets through (run
    items), as Lambda's event source mapping does; how many items were deleted."""
    moment = int(time.time() if now is None else now)
    deleted = _due_keys(moment)
    # 25 a request, unconditionally (conditional deletes go one by one, at 3x the time).
    # TTL checks an item's TTL as it deletes it: one given a later TTL between being found
    # here and deleted (a retention change within this round) would stay in AWS, not here.
    with table().batch_writer() as batch:
        for key in deleted:
            batch.delete_item(Key=key)
    records = [r for r in map(_stream_record, deleted) if retention.is_ttl_deletion(r)]
    for start in range(0, len(records), STREAM_BATCH):
        chunk = records[start : start + STREAM_BATCH]
        result = retention.handler({"Records": chunk}, FunctionContext(RETENTION))
        if result.get("batchItemFailures"):
            # Lambda would retry from the first failure, then park it in the failure queue.
            logger.error("the retention function failed records", extra=result)
    return len(deleted)


def _due_keys(moment: int) -> list[dict[str, str]]:
    """The keys of the items whose TTL is due at `moment`. TTL is DynamoDB's own background
    process, not a request: this reads the table as moto holds it, in microseconds an item,
    where a Scan costs moto a quarter of a millisecond an item (it sorts, sizes and copies
    each one) and holds its lock meanwhile. Each level is copied first (`list` of a dict's
    values is atomic under the GIL), so concurrent writes cannot break the iteration."""
    settings = get_settings()
    table_model = dynamodb_backends[ACCOUNT][settings.region].get_table(settings.table_name)
    keys = []
    for by_range in list(table_model.items.values()):
        for item in list(by_range.values()):
            expires = item.attrs.get(TTL_ATTRIBUTE)
            if expires is None or expires.type != "N":
                continue  # TTL acts on numbers only
            if moment - TTL_HORIZON_SECONDS <= float(expires.value) <= moment:
                keys.append({PARTITION_KEY: item.hash_key.value, SORT_KEY: item.range_key.value})
    return keys


def _stream_record(key: dict[str, Any]) -> dict[str, Any]:
    """The KEYS_ONLY stream record of a TTL deletion (made by the DynamoDB service)."""
    table_name = get_settings().table_name
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": "REMOVE",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": {
            "ApproximateCreationDateTime": int(time.time()),
            "Keys": {name: {"S": value} for name, value in key.items()},
            "SequenceNumber": str(next(_sequence)),
            "SizeBytes": sum(len(name) + len(value) for name, value in key.items()),
            "StreamViewType": "KEYS_ONLY",
        },
        "userIdentity": {"type": "Service", "principalId": retention.TTL_PRINCIPAL},
        "eventSourceARN": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table_name}/stream/local",
    }


def _record(message: dict[str, Any]) -> dict[str, Any]:
    """A received message as the SQS event source hands it to a function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": get_settings().trigger_queue_arn,
        "awsRegion": REGION,
    }


def _queue_url(arn: str) -> str:
    _, _, _, region, account, name = arn.split(":")
    return f"https://sqs.{region}.amazonaws.com/{account}/{name}"


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _sqs() -> Any:
    return client("sqs")
