"""Run items and each run's event log (time-ordered under the run's partition).

Retention (functions/core/model/retention.py) is DynamoDB TTL: every item of a run's
partition carries the run's expiry (TTL_ATTRIBUTE), so DynamoDB deletes its record and its
log together once it is due, and the record's deletion is what removes its S3 objects
(functions/retention/handler.py). TTL deletes up to 48 h late, so reads drop a due run at
once: a finished run past its due time is not found, listed or counted. An unfinished one
still is, so a run never vanishes from under its own execution's finalize tasks.

The run's retention lives in attributes of its item, not in its body: a transition
rewrites the body from the run it loaded and must not undo a retention change made since.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from functions.core import clock
from functions.core.data import blobs
from functions.core.data.schema import GSI1, GSI2, META, TTL_ATTRIBUTE
from functions.core.data.table import attr, dump, key, load, query_all, table
from functions.core.errors import Conflict
from functions.core.model.retention import Retention
from functions.core.model.run import Run, RunStatus, StepEvent

if TYPE_CHECKING:
    from boto3.dynamodb.conditions import ConditionBase

# An item holds 400 KB; an event larger than this (a node's big inputs) is stored in S3
# whole and its item keeps the address.
EVENT_INLINE_LIMIT = 300 * 1024

# The run item's retention attributes. MAX_AGE is absent when the run is kept forever.
MAX_AGE = "maxAgeSeconds"
PRESERVE = "preserveOnFailure"
# The TTL each new event item of the run gets, 0 for none (TTL_ATTRIBUTE itself is absent
# while a run is kept, or taken off a preserved failure before its last event is written).
EVENT_TTL = "eventTtl"
# Set when the retention of an unfinished run changes: its tasks go on writing events with
# the TTL its execution started with, so the run's end aligns them.
TTL_MOVED = "ttlMoved"
UNFINISHED = (RunStatus.PENDING, RunStatus.RUNNING)
# The Express execution that runs the run (the first of its executions to reach it).
OWNER = "execution"
# A retention change retries this often when the run's status changes under it.
RETENTION_ATTEMPTS = 5
# Event keys: EV#<position>, zero-padded so that keys sort as positions do.
POSITION_DIGITS = 19
POSITION_ATTEMPTS = 5
_position_lock = threading.Lock()
_last_position = 0
# Run transitions made by this process, for readers waiting on them (below).
_changed = threading.Condition()
_changes = 0


def runs_partition(tenant_id: str, workflow_id: str, status: RunStatus | None = None) -> str:
    """The index partition of one tenant's runs of a workflow (with `status`: GSI2's).
    The tenant is part of it: another app's runs of a discoverable workflow are never
    listed or counted with the owner's."""
    partition = f"WF#{workflow_id}#T#{tenant_id}#RUNS"
    return f"{partition}#{status.value}" if status is not None else partition


def _status_keys(run: Run) -> dict[str, str]:
    return {
        "GSI2PK": runs_partition(run.tenant_id, run.workflow_id, run.status),
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
    expires = _expires_at(run)
    retention = {PRESERVE: run.retention.preserve_on_failure, EVENT_TTL: expires or 0}
    if run.retention.max_age_in_seconds is not None:
        retention[MAX_AGE] = run.retention.max_age_in_seconds
    if expires is not None:
        retention[TTL_ATTRIBUTE] = expires
    table().put_item(
        ConditionExpression="attribute_not_exists(PK)",
        Item={
            "PK": f"RUN#{run.id}",
            "SK": META,
            "GSI1PK": runs_partition(run.tenant_id, run.workflow_id),
            "GSI1SK": f"{run.created_at}#{run.id}",
            **_status_keys(run),
            "status": run.status.value,
            "body": _body(run),
            **retention,
        },
    )


def _body(run: Run) -> str:
    return dump(run.model_dump(mode="json", exclude={"retention", "retention_due_at"}))


def event_ttl(run: Run) -> int | None:
    """The TTL a new run's events carry: its execution input hands it to every task."""
    return _expires_at(run)


def _expires_at(run: Run) -> int | None:
    return run.retention.expires_at(run.created_at, failed=run.status is RunStatus.FAILED)


def get(run_id: str) -> Run | None:
    """The run; None if there is none, or it finished and is past its retention."""
    # Consistent: callers poll this to see a run finish, right after another writer's update.
    item = _item(run_id)
    return _run(item) if item and _visible(item, _now()) else None


def claim(run_id: str, execution: str) -> tuple[RunStatus, str] | None:
    """The run's status and the execution that owns it, which is `execution` if no other
    claimed it first; None when the run is gone. One read, and one write per run."""
    item = _item(run_id)
    if item is None:
        return None
    owner = item.get(OWNER)
    if owner is None:
        try:
            table().update_item(
                Key={"PK": f"RUN#{run_id}", "SK": META},
                UpdateExpression="SET #o = :e",
                ConditionExpression="attribute_not_exists(#o)",
                ExpressionAttributeNames={"#o": OWNER},
                ExpressionAttributeValues={":e": execution},
            )
            owner = execution
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            owner = (_item(run_id) or {}).get(OWNER)
    return RunStatus(item["status"]), str(owner)


def get_owned(tenant_id: str, workflow_id: str | None, run_id: str) -> Run | None:
    """The run if it is the tenant's (and, when given, of that workflow); None otherwise,
    so another tenant's run is indistinguishable from a missing one."""
    run = get(run_id)
    if (
        run is None
        or run.tenant_id != tenant_id
        or (workflow_id is not None and run.workflow_id != workflow_id)
    ):
        return None
    return run


def _item(run_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        table().get_item(Key={"PK": f"RUN#{run_id}", "SK": META}, ConsistentRead=True).get("Item")
    )
    return item


def _run(item: dict[str, Any]) -> Run:
    run = Run.model_validate(load(item["body"]))
    # Status is kept as its own attribute so transitions can be conditional on it, and
    # retention so that no transition's body overwrites it.
    retention = Retention(
        max_age_in_seconds=int(item[MAX_AGE]) if MAX_AGE in item else None,
        preserve_on_failure=bool(item.get(PRESERVE, False)),
    )
    return run.model_copy(update={"status": RunStatus(item["status"]), "retention": retention})


def _now() -> int:
    return int(clock.now().timestamp())


def _visible(item: dict[str, Any], now: int) -> bool:
    """What _visible_filter keeps, for an item read by key."""
    expires = item.get(TTL_ATTRIBUTE)
    return expires is None or int(expires) > now or item["status"] in {s.value for s in UNFINISHED}


def _visible_filter(now: int) -> ConditionBase:
    """Runs not yet due, and unfinished ones (read every item; return only these)."""
    return (
        attr(TTL_ATTRIBUTE).not_exists()
        | attr(TTL_ATTRIBUTE).gt(now)
        | attr("status").is_in([s.value for s in UNFINISHED])
    )


def list_for_workflow(
    tenant_id: str, workflow_id: str, *, limit: int, status: RunStatus | None = None
) -> list[Run]:
    partition = runs_partition(tenant_id, workflow_id, status)
    if status is None:
        condition, index = key("GSI1PK").eq(partition), GSI1
    else:
        condition, index = key("GSI2PK").eq(partition), GSI2
    items = query_all(
        IndexName=index,
        KeyConditionExpression=condition,
        # Due runs are the oldest: newest first, a page seldom reads any of them.
        FilterExpression=_visible_filter(_now()),
        ScanIndexForward=False,
        Limit=limit,
    )
    return [_run(item) for item in items[:limit]]


def count_for_workflow(
    tenant_id: str,
    workflow_id: str,
    *,
    status: RunStatus | None = None,
    until: Run | None = None,
) -> int:
    """How many runs the tenant made of the workflow (with `status`; created no later
    than `until`)."""
    index, pk, sk = (GSI1, "GSI1PK", "GSI1SK") if status is None else (GSI2, "GSI2PK", "GSI2SK")
    condition = key(pk).eq(runs_partition(tenant_id, workflow_id, status))
    if until is not None:
        condition &= key(sk).lte(f"{until.created_at}#{until.id}")
    kwargs: dict[str, Any] = {
        "IndexName": index,
        "KeyConditionExpression": condition,
        "FilterExpression": _visible_filter(_now()),
        "Select": "COUNT",
    }
    total = 0
    while True:
        page = table().query(**kwargs)
        total += int(page["Count"])
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@dataclass(frozen=True)
class Transitioned:
    """A transition that was stored, and the TTL the run's events are now to carry."""

    event_ttl: int | None


def transition(run: Run, allowed_from: set[RunStatus]) -> Transitioned | None:
    """Store `run` (with its new status) only if the stored status is in `allowed_from`.

    None means another writer got there first (for example a stop before a finalize);
    the caller then leaves the run as it is. A run that ends failed and whose retention
    preserves failures loses its TTL, on its record and its event items. A run that ends
    after its retention changed gets its events' TTLs aligned: its tasks wrote them with
    the TTL the execution started with.
    """
    values: dict[str, Any] = {
        ":s": run.status.value,
        ":b": _body(run),
        ":g2pk": _status_keys(run)["GSI2PK"],
        **{f":f{i}": s.value for i, s in enumerate(sorted(allowed_from))},
    }
    try:
        answer = table().update_item(
            Key={"PK": f"RUN#{run.id}", "SK": META},
            UpdateExpression="SET #s = :s, body = :b, GSI2PK = :g2pk",
            ConditionExpression="#s IN ("
            + ", ".join(f":f{i}" for i in range(len(allowed_from)))
            + ")",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=values,
            # The stored retention flags, not those `run` was loaded with: returned values
            # cost no capacity.
            ReturnValues="ALL_NEW",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return None
        raise
    _notify()
    stored = answer["Attributes"]
    if run.status is RunStatus.FAILED and stored.get(PRESERVE):
        _preserve(run.id)
        return Transitioned(event_ttl=None)
    if run.status not in UNFINISHED and stored.get(TTL_MOVED):
        _align_event_ttls(run.id)
    return Transitioned(event_ttl=int(stored.get(EVENT_TTL) or 0) or None)


def _preserve(run_id: str) -> None:
    """Take the TTL off a failed run that its retention preserves (a retention change
    made meanwhile has set the TTLs it wants: then nothing is done)."""
    try:
        table().update_item(
            Key={"PK": f"RUN#{run_id}", "SK": META},
            UpdateExpression=f"SET {EVENT_TTL} = :none REMOVE #ttl",
            ConditionExpression=f"#s = :failed AND {PRESERVE} = :yes",
            ExpressionAttributeNames={"#s": "status", "#ttl": TTL_ATTRIBUTE},
            ExpressionAttributeValues={
                ":none": 0,
                ":failed": RunStatus.FAILED.value,
                ":yes": True,
            },
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return
        raise
    _align_event_ttls(run_id)


def set_retention(run_id: str, retention: Retention) -> Run | None:
    """Give the run `retention`: its item and each of its event items get the TTL that
    follows (none while it is kept). The run as now stored; None if there is no run.

    The TTL depends on the status (a failed run may be preserved), so the write is
    conditional on the status it was worked out for, and worked out again if it changed.
    """
    for _ in range(RETENTION_ATTEMPTS):
        item = _item(run_id)
        if item is None:
            return None
        updated = _run(item).model_copy(update={"retention": retention})
        expires = _expires_at(updated)
        sets = [f"{PRESERVE} = :keep", f"{EVENT_TTL} = :events"]
        unfinished = RunStatus(item["status"]) in UNFINISHED
        if unfinished:
            sets.append(f"{TTL_MOVED} = :moved")
        removes = []
        values: dict[str, Any] = {
            ":keep": retention.preserve_on_failure,
            ":events": expires or 0,
            **({":moved": True} if unfinished else {}),
            ":status": item["status"],
        }
        if retention.max_age_in_seconds is None:
            removes.append(MAX_AGE)
        else:
            sets.append(f"{MAX_AGE} = :age")
            values[":age"] = retention.max_age_in_seconds
        if expires is None:
            removes.append("#ttl")
        else:
            sets.append("#ttl = :ttl")
            values[":ttl"] = expires
        update = f"SET {', '.join(sets)}" + (f" REMOVE {', '.join(removes)}" if removes else "")
        try:
            table().update_item(
                Key={"PK": f"RUN#{run_id}", "SK": META},
                UpdateExpression=update,
                ConditionExpression="#s = :status",
                ExpressionAttributeNames={"#s": "status", "#ttl": TTL_ATTRIBUTE},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                continue
            raise
        if int(item.get(EVENT_TTL) or 0) != (expires or 0):
            _align_event_ttls(run_id)
        return updated
    raise Conflict(f"run '{run_id}' kept changing while its retention was set; try again")


def _ttl(item: dict[str, Any]) -> int | None:
    expires = item.get(TTL_ATTRIBUTE)
    return None if expires is None else int(expires)


def _align_event_ttls(run_id: str) -> int:
    """Give each event item of the run the TTL its run item now hands new events; how
    many changed. Read after the caller's own write, so of two writers changing the
    retention at once, the later one's TTL is what the events end with. Events never
    change once written, so each is put back whole, 25 a request."""
    run_item = _item(run_id)
    if run_item is None:
        return 0
    expires = int(run_item.get(EVENT_TTL) or 0) or None
    events = query_all(
        KeyConditionExpression=key("PK").eq(f"RUN#{run_id}") & key("SK").begins_with("EV#"),
        # Consistent: an event written just before the run item changed must be seen.
        ConsistentRead=True,
    )
    changed = 0
    with table().batch_writer() as batch:
        for event in events:
            if _ttl(event) == expires:
                continue
            event.pop(TTL_ATTRIBUTE, None)
            batch.put_item(Item=event if expires is None else {**event, TTL_ATTRIBUTE: expires})
            changed += 1
    return changed


def append_event(run_id: str, event: StepEvent, expires: int | None) -> StepEvent:
    """Store the event at the next position of its run's log, with the TTL `expires`
    (the run's event TTL, which the execution input carries: no read of the run item).

    One write: no counter on a shared item orders the log (see `position`)."""
    body = event.model_dump(mode="json", exclude={"seq"}, exclude_none=True)
    text = dump(body)
    for _ in range(POSITION_ATTEMPTS):
        seq = position()
        item: dict[str, Any] = {"PK": f"RUN#{run_id}", "SK": _event_key(seq)}
        if expires:
            item[TTL_ATTRIBUTE] = expires
        if len(text.encode()) > EVENT_INLINE_LIMIT:
            address = f"{blobs.run_prefix(run_id)}events/{seq:0{POSITION_DIGITS}d}.json"
            item["bodyRef"] = blobs.put_json(address, body)
        else:
            item["body"] = text
        try:
            table().put_item(Item=item, ConditionExpression="attribute_not_exists(SK)")
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                continue  # another writer took the same microsecond and tie-break
            raise
        return event.model_copy(update={"seq": seq})
    raise Conflict(f"run '{run_id}': no free position in its log after {POSITION_ATTEMPTS} tries")


def changes() -> int:
    """A mark to wait from: how many run transitions this process has made."""
    return _changes


def wait_for_change(since: int, seconds: float) -> None:
    """Return once this process moves a run to another status after the mark `since`, or
    after `seconds`. Locally every function runs in the one process, so a blocking request
    wakes as the run's finalize task stores its end; in AWS the writers are other
    functions and this is the poll interval."""
    with _changed:
        _changed.wait_for(lambda: _changes != since, timeout=seconds)


def _notify() -> None:
    global _changes  # noqa: PLW0603 - the process's write count is the point
    with _changed:
        _changes += 1
        _changed.notify_all()


def position() -> int:
    """A new log position: the wall clock in microseconds, × 1000 plus a random tie-break,
    and above any this process gave before.

    Events are ordered by when they were written. Causally later events get later
    positions (a task starts after the one before it has stored its event, and hosts'
    clocks agree to well under a state transition); concurrent branches' events
    interleave by time. A reader tailing the log allows for a writer that took a position
    but has not stored it yet (functions/stream/sse.py)."""
    global _last_position  # noqa: PLW0603 - the process's high-water mark is the point
    with _position_lock:
        candidate = time.time_ns() // 1000 * 1000 + secrets.randbelow(1000)
        _last_position = max(candidate, _last_position + 1)
        return _last_position


def position_age_seconds(seq: int) -> float:
    """How long ago the position was taken."""
    return time.time() - seq / 1000 / 1_000_000


def _event_key(seq: int) -> str:
    return f"EV#{seq:0{POSITION_DIGITS}d}"


def events(run_id: str, after_seq: int = 0) -> list[StepEvent]:
    items = query_all(
        KeyConditionExpression=key("PK").eq(f"RUN#{run_id}")
        & key("SK").between(_event_key(after_seq + 1), "EV#" + "9" * POSITION_DIGITS),
        # Consistent: a stream tails this log and must not miss what was just written.
        ConsistentRead=True,
    )
    return [
        StepEvent.model_validate(
            {
                **(load(item["body"]) if "body" in item else blobs.get_json(item["bodyRef"])),
                "seq": int(item["SK"].removeprefix("EV#")),
            }
        )
        for item in items
    ]


def delete(run_id: str) -> None:
    items = query_all(KeyConditionExpression=key("PK").eq(f"RUN#{run_id}"))
    with table().batch_writer() as batch:
        for item in items:
            batch.delete_item(Key={"PK": item["PK"], "SK": item["SK"]})
