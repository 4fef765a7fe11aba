"""What AWS does for triggers by itself and moto does not: fire the stored schedules and
run the dispatcher function on what reaches the trigger queue.

moto keeps Scheduler's schedules but never fires them, and no SQS event source mapping
invokes a function. This pump does both, in one thread: at each new minute it sends every
enabled schedule that fires then (in its own time zone) to its target, as Scheduler would,
and it polls the queue, hands each batch to the real dispatcher handler, and deletes what
the handler did not report as failed (failed ones come back, then go to the DLQ).
EventBridge rules need nothing here: moto delivers bus and S3 events to the queue itself.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from functions.core.aws_clients import client
from functions.core.settings import get_settings
from functions.core.triggers import cron, sources
from functions.core.triggers.messages import SCHEDULED_TIME
from functions.dispatcher import handler as dispatcher
from local.aws import PREFIX, REGION, FunctionContext

logger = Logger(service="stepcanvas-local-triggers")

DISPATCHER = f"{PREFIX}-dispatcher"


class TriggerPump:
    def __init__(self, poll_seconds: float = 0.1) -> None:
        self._poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="trigger-pump", daemon=True)
        # Schedules fire from the next minute on, as a new schedule in AWS does.
        self._ticked = _minute(datetime.now(UTC))

    def start(self) -> TriggerPump:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                minute = _minute(datetime.now(UTC))
                if minute > self._ticked:
                    self._ticked = minute
                    tick(minute)
                while drain():
                    pass
            except Exception:  # a bad schedule or message must not stop every trigger
                logger.exception("the local trigger pump failed a round")
            self._stop.wait(self._poll_seconds)


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


def drain() -> int:
    """Hand one batch of the queue to the dispatcher; how many messages it held."""
    queue_url = get_settings().trigger_queue_url
    answer = _sqs().receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
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
