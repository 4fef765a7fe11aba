"""Run items and each run's event log (sequence-ordered under the run's partition)."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from functions.core.data import blobs
from functions.core.data.schema import GSI1, GSI2, META
from functions.core.data.table import dump, load, query_all, table
from functions.core.model.run import Run, RunStatus, StepEvent

# An item holds 400 KB; an event larger than this (a node's big inputs) is stored in S3
# whole and its item keeps the address.
EVENT_INLINE_LIMIT = 300 * 1024


def _status_keys(run: Run) -> dict[str, str]:
    return {
        "GSI2PK": f"WF#{run.workflow_id}#RUNS#{run.status.value}",
        "GSI2SK": f"{run.created_at}#{run.id}",
    }


def put(run: Run) -> bool:
    """Record a new run; False if a run with its id exists (a trigger delivered twice)."""
    try:
        _put_new(run)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _put_new(run: Run) -> None:
    table().put_item(
        ConditionExpression="attribute_not_exists(PK)",
        Item={
            "PK": f"RUN#{run.id}",
            "SK": META,
            "GSI1PK": f"WF#{run.workflow_id}#RUNS",
            "GSI1SK": f"{run.created_at}#{run.id}",
            **_status_keys(run),
            "status": run.status.value,
            "seq": 0,
            "body": dump(run.model_dump(mode="json")),
        },
    )


def get(run_id: str) -> Run | None:
    # Consistent: callers poll this to see a run finish, right after another writer's update.
    item = (
        table().get_item(Key={"PK": f"RUN#{run_id}", "SK": META}, ConsistentRead=True).get("Item")
    )
    return _run(item) if item else None


def _run(item: dict[str, Any]) -> Run:
    run = Run.model_validate(load(item["body"]))
    # Status is kept as its own attribute so transitions can be conditional on it.
    return run.model_copy(update={"status": RunStatus(item["status"])})


def list_for_workflow(
    workflow_id: str, *, limit: int, status: RunStatus | None = None
) -> list[Run]:
    if status is None:
        condition, index = Key("GSI1PK").eq(f"WF#{workflow_id}#RUNS"), GSI1
    else:
        condition, index = Key("GSI2PK").eq(f"WF#{workflow_id}#RUNS#{status.value}"), GSI2
    items = query_all(
        IndexName=index, KeyConditionExpression=condition, ScanIndexForward=False, Limit=limit
    )
    return [_run(item) for item in items[:limit]]


def count_for_workflow(
    workflow_id: str, *, status: RunStatus | None = None, until: Run | None = None
) -> int:
    """How many runs the workflow has (with `status`; created no later than `until`)."""
    if status is None:
        index, pk, sk = GSI1, "GSI1PK", "GSI1SK"
        partition = f"WF#{workflow_id}#RUNS"
    else:
        index, pk, sk = GSI2, "GSI2PK", "GSI2SK"
        partition = f"WF#{workflow_id}#RUNS#{status.value}"
    condition = Key(pk).eq(partition)
    if until is not None:
        condition &= Key(sk).lte(f"{until.created_at}#{until.id}")
    kwargs: dict[str, Any] = {
        "IndexName": index,
        "KeyConditionExpression": condition,
        "Select": "COUNT",
    }
    total = 0
    while True:
        page = table().query(**kwargs)
        total += int(page["Count"])
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def transition(run: Run, allowed_from: set[RunStatus]) -> bool:
    """Store `run` (with its new status) only if the stored status is in `allowed_from`.

    False means another writer got there first (for example a stop before a finalize);
    the caller then leaves the run as it is.
    """
    try:
        table().update_item(
            Key={"PK": f"RUN#{run.id}", "SK": META},
            UpdateExpression="SET #s = :s, body = :b, GSI2PK = :g2pk",
            ConditionExpression="#s IN ("
            + ", ".join(f":f{i}" for i in range(len(allowed_from)))
            + ")",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":s": run.status.value,
                ":b": dump(run.model_dump(mode="json")),
                ":g2pk": _status_keys(run)["GSI2PK"],
                **{f":f{i}": s.value for i, s in enumerate(sorted(allowed_from))},
            },
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def append_event(run_id: str, event: StepEvent) -> StepEvent:
    """Give the event the run's next sequence number, then store it."""
    counter = table().update_item(
        Key={"PK": f"RUN#{run_id}", "SK": META},
        UpdateExpression="ADD seq :one",
        ExpressionAttributeValues={":one": 1},
        ReturnValues="UPDATED_NEW",
    )
    numbered = event.model_copy(update={"seq": int(counter["Attributes"]["seq"])})
    body = numbered.model_dump(mode="json", exclude_none=True)
    item: dict[str, Any] = {"PK": f"RUN#{run_id}", "SK": f"EV#{numbered.seq:010d}"}
    text = dump(body)
    if len(text.encode()) > EVENT_INLINE_LIMIT:
        item["bodyRef"] = blobs.put_json(f"runs/{run_id}/events/{numbered.seq:010d}.json", body)
    else:
        item["body"] = text
    table().put_item(Item=item)
    return numbered


def events(run_id: str, after_seq: int = 0) -> list[StepEvent]:
    items = query_all(
        KeyConditionExpression=Key("PK").eq(f"RUN#{run_id}")
        & Key("SK").between(f"EV#{after_seq + 1:010d}", "EV#9999999999"),
        # Consistent: a stream tails this log and must not miss what was just written.
        ConsistentRead=True,
    )
    return [
        StepEvent.model_validate(
            load(item["body"]) if "body" in item else blobs.get_json(item["bodyRef"])
        )
        for item in items
    ]


def delete(run_id: str) -> None:
    items = query_all(KeyConditionExpression=Key("PK").eq(f"RUN#{run_id}"))
    with table().batch_writer() as batch:
        for item in items:
            batch.delete_item(Key={"PK": item["PK"], "SK": item["SK"]})
