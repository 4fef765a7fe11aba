"""Run retention figures, in-process under moto, measured against goals:

- the AWS path, per 1,000 due runs of 10 events each (one S3 object each): DynamoDB TTL
  deletes the 11,000 items (billed nothing), and the retention function, handed the 1,000
  stream records of the run items in batches of 100, deletes the runs' objects. Counted:
  its DynamoDB requests (goal 0), its S3 requests per run (goal <= 2: one listing, one
  delete) and its time per 1,000 runs;
- what a scheduled sweep would pay instead, for the same runs: DynamoDB read and write
  units worked out from the items' sizes (DynamoDB's rounding: 1 KB per write unit,
  4 KB per eventually consistent half read unit);
- the local stand-in (local/triggers.py `expire`): its time per 1,000 due runs, and the
  periodic round's time when nothing is due (a scan of the table), against its 5 s period;
- the cost of hiding due runs on read while TTL has not deleted them yet (up to 48 h):
  1,000 due runs and 100 live ones under one workflow; index items read per item returned
  and time against the same query without the filter.

    python -m bench.retention_sweep [--runs 1000] [--events 10]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key

from functions.core import aws_clients, clock
from functions.core.data import blobs
from functions.core.data import runs as run_store
from functions.core.data.schema import GSI1, GSI2, META
from functions.core.data.table import query_all
from functions.core.model.retention import Retention
from functions.core.model.run import EventType, Run, RunStatus, StepEvent
from functions.core.settings import get_settings
from functions.retention import handler as retention_handler
from local import aws
from local import triggers as pump

TENANT = "bench"
WORKFLOW = "wf-bench"
LIVE = 100
PAGE = 20
# Goals. The retention function makes no DynamoDB request and at most two S3 requests per
# run, and takes at most 1.5x the time of those two requests made bare (its own overhead:
# Powertools batch handling, logging). Locally `expire` handles a due run in 50 ms: moto
# takes 0.3 s and more to execute even a short run (bench.v1_run_latency), so expiry keeps
# up with any rate the stand-in runs at, on a sixth of a core (TTL's own pace in AWS is up
# to 48 h: this bounds the stand-in only). An idle expiry round costs at most 5 % of its
# period. Hiding due runs costs a newest-first page no extra items and at most 1.5x the
# unfiltered query's time.
S3_REQUESTS_PER_RUN = 2.0
HANDLER_OVERHEAD_RATIO = 1.5
EXPIRE_SECONDS_PER_RUN = 0.050
IDLE_ROUND_SHARE = 0.05
FILTER_TIME_RATIO = 1.5


# -- counting requests and sizing items ----------------------------------------------------


@contextmanager
def counted() -> Iterator[Counter[str]]:
    """Every AWS request the shared clients make meanwhile, by service and operation."""
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[f"{model.service_model.service_name}:{model.name}"] += 1

    clients = [aws_clients.client("s3"), aws_clients.table().meta.client]
    for c in clients:
        c.meta.events.register("before-call", count)
    try:
        yield calls
    finally:
        for c in clients:
            c.meta.events.unregister("before-call", count)


def _value_bytes(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | float | Decimal):
        digits = len(str(abs(value)).replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if isinstance(value, dict):
        return 3 + sum(len(k.encode()) + _value_bytes(v) for k, v in value.items())
    if isinstance(value, list | set):
        return 3 + sum(_value_bytes(v) for v in value)
    return len(str(value).encode())


def item_bytes(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB bills it: attribute names plus values."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in item.items())


def write_units(item: dict[str, Any]) -> int:
    return max(1, math.ceil(item_bytes(item) / 1024))


def read_units(items: list[dict[str, Any]]) -> float:
    """One eventually consistent query page over `items`."""
    return max(1, math.ceil(sum(map(item_bytes, items)) / 4096)) / 2


# -- the data --------------------------------------------------------------------------------


def make_runs(count: int, events: int, *, age: float, max_age: int | None) -> list[str]:
    """`count` runs created `age` seconds ago; their ids. The first is written by the real
    code (run_store.put, then append_event per event); the others are its items copied
    under their own ids, 25 a request, so making 1,000 takes seconds rather than minutes
    of moto and the items are exactly the ones the code writes."""
    created = clock.iso(clock.now() - timedelta(seconds=age))
    ids = [f"{int(time.time()):08x}{index:08x}{int(age):08x}" for index in range(count)]
    first = Run(
        id=ids[0],
        workflow_id=WORKFLOW,
        tenant_id=TENANT,
        status=RunStatus.SUCCEEDED,
        created_at=created,
        retention=Retention(max_age_in_seconds=max_age),
    )
    run_store.put(first)
    for node in range(events):
        run_store.append_event(
            first.id,
            StepEvent(
                type=EventType.NODE_FINISHED,
                at=created,
                node_id=f"n{node}",
                node_type="tool",
                status="succeeded",
                outputs={"result": {"value": node, "text": "ok" * 40}},
            ),
            run_store.event_ttl(first),
        )
    template = partition(first.id)
    with aws_clients.table().batch_writer() as batch:
        for run_id in ids[1:]:
            for item in template:
                batch.put_item(
                    Item={
                        k: v.replace(first.id, run_id) if isinstance(v, str) else v
                        for k, v in item.items()
                    }
                )
    for run_id in ids:
        blobs.put_json(f"{blobs.run_prefix(run_id)}outputs/n0/x.json", {"big": "x" * 100})
    return ids


def partition(run_id: str) -> list[dict[str, Any]]:
    return query_all(KeyConditionExpression=Key("PK").eq(f"RUN#{run_id}"))


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def _median_time(work: Callable[[], Any], repeats: int = 15) -> float:
    return statistics.median(timed(work)[0] for _ in range(repeats))


def line(name: str, measured: float, goal: float, unit: str = "") -> None:
    ratio = measured / goal if goal else (0.0 if measured == 0 else math.inf)
    print(f"{name:<58} {measured:>10.3f}{unit:<3} goal {goal:>8.3f}{unit:<3} ratio {ratio:.2f}")


# -- figures ---------------------------------------------------------------------------------


def aws_path(runs: list[str]) -> None:
    """TTL deletes the items; the retention function gets the run items' stream records."""
    items = [item for run in runs for item in partition(run)]
    for item in items:  # what TTL does, outside the figures: free, and not our code
        aws_clients.table().delete_item(Key={"PK": item["PK"], "SK": item["SK"]})
    records = [pump._stream_record({"PK": f"RUN#{run}", "SK": META}) for run in runs]
    context = aws.FunctionContext(pump.RETENTION)
    with counted() as calls:
        seconds, _ = timed(
            lambda: [
                retention_handler.handler({"Records": records[i : i + 100]}, context)
                for i in range(0, len(records), 100)
            ]
        )
    per_thousand = 1000 / len(runs)
    dynamodb = sum(n for call, n in calls.items() if call.startswith("dynamodb:"))
    s3 = sum(n for call, n in calls.items() if call.startswith("s3:"))
    left = sum(len(blobs_of(run)) for run in runs)
    print(f"AWS path: TTL deleted {len(items)} items (0 write units); function calls {dict(calls)}")
    line("retention function: DynamoDB requests per 1,000 runs", dynamodb * per_thousand, 0)
    line("retention function: S3 requests per run", s3 / len(runs), S3_REQUESTS_PER_RUN)
    print(f"retention function: {seconds * per_thousand:.2f} s per 1,000 runs (moto S3)")
    assert left == 0, f"{left} objects left"
    # The same two requests per run, made bare, on as many fresh objects.
    s3, bucket = aws_clients.client("s3"), get_settings().bucket_name
    for run in runs:
        s3.put_object(Bucket=bucket, Key=f"bare/{run}/x.json", Body=b"{}")

    def bare() -> None:
        for run in runs:
            listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"bare/{run}/")
            objects = [{"Key": o["Key"]} for o in listed["Contents"]]
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})

    bare_seconds, _ = timed(bare)
    line(
        "retention function: time vs the bare S3 requests",
        seconds / bare_seconds,
        HANDLER_OVERHEAD_RATIO,
    )

    # The same runs deleted by a sweep instead of TTL, priced from the items' sizes.
    by_run: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_run.setdefault(item["PK"], []).append(item)
    reads = sum(read_units(group) for group in by_run.values())
    writes = sum(write_units(item) for item in items)
    # The run item also leaves GSI1 and GSI2 (full projection).
    writes += sum(2 * write_units(i) for i in items if i["SK"] == META)
    print(
        f"a sweep instead, per 1,000 runs: {reads * per_thousand:,.0f} read units + "
        f"{writes * per_thousand:,.0f} write units (+ an index to find due runs); "
        f"TTL + stream: 0 + 0"
    )


def blobs_of(run_id: str) -> list[str]:
    listed = aws_clients.client("s3").list_objects_v2(
        Bucket=get_settings().bucket_name, Prefix=blobs.run_prefix(run_id)
    )
    return [o["Key"] for o in listed.get("Contents", [])]


def local_expiry(runs: list[str], live_items: int) -> None:
    table_items = live_items + sum(len(partition(run)) for run in runs)
    # First a round with nothing due (its clock set back before every due time): what
    # the periodic round costs when there is nothing to do, the scan of the table alone.
    idle, nothing = timed(lambda: pump.expire(now=time.time() - 7200))
    assert nothing == 0
    line(
        f"local expire: idle round over {table_items} items (s)",
        idle,
        pump.EXPIRE_SECONDS * IDLE_ROUND_SHARE,
        " s",
    )
    with counted() as calls:
        seconds, deleted = timed(pump.expire)
    per_thousand = 1000 / len(runs)
    print(
        f"local expire: deleted {deleted} items of {len(runs)} runs, table "
        f"{table_items} items; calls {dict(calls)}"
    )
    assert all(not partition(run) for run in runs[:5]) and not blobs_of(runs[0])
    line(
        "local expire: seconds per 1,000 due runs",
        seconds * per_thousand,
        EXPIRE_SECONDS_PER_RUN * 1000,
        " s",
    )


def read_filter() -> None:
    now = int(time.time())
    raw_calls: list[tuple[str, dict[str, Any]]] = [
        (
            "newest page (GSI1)",
            {"IndexName": GSI1, "pk": ("GSI1PK", run_store.runs_partition(TENANT, WORKFLOW))},
        ),
        (
            "status page (GSI2)",
            {
                "IndexName": GSI2,
                "pk": ("GSI2PK", run_store.runs_partition(TENANT, WORKFLOW, RunStatus.SUCCEEDED)),
            },
        ),
    ]
    for name, spec in raw_calls:
        attribute, value = spec["pk"]
        condition = Key(attribute).eq(value)
        base: dict[str, Any] = {
            "IndexName": spec["IndexName"],
            "KeyConditionExpression": condition,
            "ScanIndexForward": False,
        }
        filtered_items, filtered_time = _paged(
            {**base, "FilterExpression": run_store._visible_filter(now)}, PAGE
        )
        unfiltered_items, unfiltered_time = _paged(base, PAGE)
        print(
            f"{name}: {filtered_items[1]} index items read for {filtered_items[0]} returned; "
            f"unfiltered {unfiltered_items[1]} read"
        )
        line(
            f"{name}: items read per item returned",
            filtered_items[1] / max(filtered_items[0], 1),
            1.0,
        )
        line(f"{name}: time vs unfiltered", filtered_time / unfiltered_time, FILTER_TIME_RATIO)
    # The worst case: a page longer than the live runs reads through every due one.
    worst, _ = _paged(
        {
            "IndexName": GSI1,
            "KeyConditionExpression": Key("GSI1PK").eq(run_store.runs_partition(TENANT, WORKFLOW)),
            "ScanIndexForward": False,
            "FilterExpression": run_store._visible_filter(now),
        },
        2 * LIVE,
        repeats=1,
    )
    print(
        f"worst case, a page of {2 * LIVE} with {LIVE} live runs: {worst[1]} index items "
        f"read for {worst[0]} returned, until TTL deletes the due ones (no goal: bounded by "
        "the runs due in TTL's last 48 h)"
    )
    total = run_store.count_for_workflow(TENANT, WORKFLOW)
    counted_time = _median_time(lambda: run_store.count_for_workflow(TENANT, WORKFLOW))
    raw_time = _median_time(
        lambda: aws_clients.table().query(
            IndexName=GSI1,
            KeyConditionExpression=Key("GSI1PK").eq(run_store.runs_partition(TENANT, WORKFLOW)),
            Select="COUNT",
        )
    )
    print(
        f"count: {total} live runs counted; reads every index item of the workflow, due or "
        f"not ({LIVE} live + the due ones until TTL deletes them), as an unfiltered count does"
    )
    line("count: time vs unfiltered", counted_time / raw_time, FILTER_TIME_RATIO)


def _paged(kwargs: dict[str, Any], limit: int, repeats: int = 15) -> tuple[tuple[int, int], float]:
    """(returned, read) for a page of `limit` filled as query_all fills it, and the median
    time of `repeats` such pages."""
    timings = []
    for _ in range(repeats):
        returned = read = 0
        started = time.perf_counter()
        query = {**kwargs, "Limit": limit}
        while returned < limit:
            page = aws_clients.table().query(**query)
            returned += page["Count"]
            read += page["ScannedCount"]
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        timings.append(time.perf_counter() - started)
    return (min(returned, limit), read), statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--events", type=int, default=10)
    args = parser.parse_args()
    world = aws.start()
    try:
        print(f"making {args.runs} due runs of {args.events} events, {LIVE} live ones ...")
        live = make_runs(LIVE, args.events, age=1, max_age=None)
        due = make_runs(args.runs, args.events, age=3600, max_age=60)
        live_items = sum(len(partition(run)) for run in live)
        snapshot = [item for run in due for item in partition(run)]

        # Reads first, while the due runs are still there (TTL has not got to them).
        read_filter()
        local_expiry(due, live_items)
        # The AWS path on the same due runs, put back as they were (25 items a request).
        with aws_clients.table().batch_writer() as batch:
            for item in snapshot:
                batch.put_item(Item=item)
        for run in due:
            blobs.put_json(f"{blobs.run_prefix(run)}outputs/n0/x.json", {"big": "x" * 100})
        aws_path(due)
    finally:
        world.stop()


if __name__ == "__main__":
    main()
