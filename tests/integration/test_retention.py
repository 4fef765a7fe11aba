"""Run data retention under moto: a due run is gone from every face at once, and the local
stand-in for DynamoDB TTL + the table's stream (local/triggers.py `expire`) deletes its
items and, through the real retention handler, its S3 objects."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key
from pydantic import ValidationError

from functions.core import clock
from functions.core.data import runs as run_store
from functions.core.data import workflows as workflow_store
from functions.core.data.schema import META, TTL_ATTRIBUTE
from functions.core.data.table import table
from functions.core.errors import NotFound, Refused
from functions.core.model.retention import Retention, RetentionBody
from functions.core.model.run import EventType, Run, RunStatus, StepEvent
from functions.core.services import retention
from functions.core.settings import get_settings
from functions.retention import handler as retention_handler
from local import aws
from local import triggers as pump
from tests.integration.conftest import Api

TENANT = "tenant-a"
# Over the 32 KB inline limit: the trigger data and the echo node's outputs go to S3.
BIG = "x" * (40 * 1024)
ECHO = [{"id": "a", "type": "tool-call", "config": {"tool": "echo", "input": {"blob": BIG}}}]
FAILING = [
    {"id": "bad", "type": "http-request", "config": {"url": "http://169.254.169.254/latest"}}
]


# -- helpers ---------------------------------------------------------------------------------


def _partition(run_id: str) -> list[dict[str, Any]]:
    return table().query(KeyConditionExpression=Key("PK").eq(f"RUN#{run_id}"))["Items"]


def _objects(run_id: str) -> list[str]:
    listed = boto3.client("s3", region_name=aws.REGION).list_objects_v2(
        Bucket=get_settings().bucket_name, Prefix=f"runs/{run_id}/"
    )
    return [o["Key"] for o in listed.get("Contents", [])]


def _with_default(api: Api, nodes: list[dict[str, Any]], default: dict[str, Any]) -> str:
    """A workflow whose record carries a default retention (as the workflow routes store it)."""
    workflow_id = str(api.create({"name": "kept", "nodes": nodes})["id"])
    record = workflow_store.get(workflow_id)
    assert record is not None
    workflow_store.put({**record, "retention": default})
    return workflow_id


def _start(api: Api, workflow_id: str, data: Any = None) -> str:
    started = api.call("POST", f"/v1/workflows/{workflow_id}/run", json={"data": data})
    assert started.status_code == 200, started.text
    return str(started.json()["runId"])


def _finished(run_id: str, timeout: float = 30) -> str:
    """The stored status once the run ended (read raw: a due run is hidden from reads)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = table().get_item(Key={"PK": f"RUN#{run_id}", "SK": META}, ConsistentRead=True)
        status = item.get("Item", {}).get("status")
        if status in ("succeeded", "failed", "stopped"):
            return str(status)
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish")


def _stored_run(
    workflow_id: str,
    *,
    age: float,
    max_age: int | None,
    status: RunStatus = RunStatus.SUCCEEDED,
    preserve: bool = False,
    events: int = 0,
) -> Run:
    """A run record created `age` seconds ago, straight into the store."""
    run = Run(
        id=f"{int(time.time()):08x}{time.time_ns() % 10**16:016x}",
        workflow_id=workflow_id,
        tenant_id=TENANT,
        status=status,
        created_at=clock.iso(clock.now() - timedelta(seconds=age)),
        retention=Retention(max_age_in_seconds=max_age, preserve_on_failure=preserve),
    )
    assert run_store.put(run)
    for _ in range(events):
        run_store.append_event(
            run.id, StepEvent(type=EventType.NODE_STARTED, at=clock.iso()), run_store.event_ttl(run)
        )
    return run


# -- end to end ------------------------------------------------------------------------------


def test_a_run_past_its_max_age_leaves_every_face_and_the_sweep_deletes_all_of_it(
    api: Api,
) -> None:
    workflow_id = _with_default(api, ECHO, {"max_age_in_seconds": 1})
    run_id = _start(api, workflow_id, {"blob": BIG})
    assert _finished(run_id) == "succeeded"
    items = _partition(run_id)
    # The record and its whole event log carry one TTL: the creation's second + 1 s.
    created = run_store._run(next(i for i in items if i["SK"] == META)).created_at
    due = int(clock.parse_iso(created).timestamp()) + 1
    assert len(items) > 3 and {int(i[TTL_ATTRIBUTE]) for i in items} == {due}
    objects = _objects(run_id)
    assert f"runs/{run_id}/trigger.json" in objects
    assert any("/outputs/a/" in key for key in objects)

    while time.time() < due:
        time.sleep(0.05)
    # Gone from every face at once, long before TTL would delete it.
    assert run_store.get(run_id) is None
    assert run_store.list_for_workflow(TENANT, workflow_id, limit=10) == []
    assert run_store.count_for_workflow(TENANT, workflow_id) == 0
    assert run_store.count_for_workflow(TENANT, workflow_id, status=RunStatus.SUCCEEDED) == 0
    assert api.call("GET", f"/v1/workflows/{workflow_id}/runs/{run_id}").status_code == 404
    assert api.call("GET", f"/v1/workflows/{workflow_id}/runs").json()["runs"] == []

    assert pump.expire() >= len(items)
    assert _partition(run_id) == []
    assert _objects(run_id) == []


def test_the_pump_expires_due_runs_on_its_own(api: Api) -> None:
    workflow_id = _with_default(api, ECHO, {"max_age_in_seconds": 1, "preserve_on_failure": True})
    run_id = _start(api, workflow_id)
    assert _finished(run_id) == "succeeded"
    assert _objects(run_id)
    running = pump.TriggerPump(expire_seconds=0.2).start()
    try:
        deadline = time.monotonic() + 15
        while (_partition(run_id) or _objects(run_id)) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        running.stop()
    assert _partition(run_id) == []
    assert _objects(run_id) == []


def test_a_failed_run_is_preserved_when_its_retention_says_so(api: Api) -> None:
    kept = _with_default(api, FAILING, {"max_age_in_seconds": 1, "preserve_on_failure": True})
    dropped = _with_default(api, FAILING, {"max_age_in_seconds": 1})
    kept_run, dropped_run = _start(api, kept), _start(api, dropped)
    assert _finished(kept_run) == _finished(dropped_run) == "failed"
    time.sleep(1.1)

    run = run_store.get(kept_run)
    assert run is not None and run.status is RunStatus.FAILED
    assert run.retention == Retention(max_age_in_seconds=1, preserve_on_failure=True)
    assert run.retention_due_at is None
    assert all(TTL_ATTRIBUTE not in item for item in _partition(kept_run))
    assert run_store.get(dropped_run) is None

    pump.expire()
    assert run_store.get(kept_run) is not None
    assert _partition(dropped_run) == []
    assert api.call("GET", f"/v1/workflows/{kept}/runs/{kept_run}").status_code == 200


def test_new_runs_take_the_workflows_default_and_keep_forever_without_one(api: Api) -> None:
    plain = str(api.create({"name": "plain", "nodes": ECHO})["id"])
    run_id = _start(api, plain)
    _finished(run_id)
    run = run_store.get(run_id)
    assert run is not None
    assert run.retention == Retention() and run.retention_due_at is None
    assert all(TTL_ATTRIBUTE not in item for item in _partition(run_id))
    assert retention.default_for_new_run({"retention": None}) == {"retention": Retention()}
    assert retention.default_for_new_run({"retention": {"max_age_in_seconds": 60}}) == {
        "retention": Retention(max_age_in_seconds=60)
    }


# -- the service API the PATCH route calls ---------------------------------------------------


def test_set_for_run_moves_the_ttl_of_every_item_and_answers_the_due_time(api: Api) -> None:
    run = _stored_run("wf-1", age=10, max_age=None, events=3)
    assert all(TTL_ATTRIBUTE not in item for item in _partition(run.id))

    updated = retention.set_for_run(TENANT, run.id, 3600, False)
    due = int(clock.parse_iso(run.created_at).timestamp()) + 3600
    assert updated.retention == Retention(max_age_in_seconds=3600)
    assert updated.retention_due_at == _iso(due)
    assert {int(item[TTL_ATTRIBUTE]) for item in _partition(run.id)} == {due}
    stored = run_store.get(run.id)
    assert stored is not None and stored.retention_due_at == _iso(due)

    kept = retention.set_for_run(TENANT, run.id, None, True)
    assert kept.retention_due_at is None
    assert all(TTL_ATTRIBUTE not in item for item in _partition(run.id))


def test_a_due_time_already_past_takes_effect_at_once(api: Api) -> None:
    run = _stored_run("wf-1", age=30, max_age=None, events=2)
    updated = retention.set_for_run(TENANT, run.id, 5, False)
    assert updated.retention_due_at is not None
    assert clock.parse_iso(updated.retention_due_at) < clock.now()
    assert run_store.get(run.id) is None
    with pytest.raises(NotFound):
        retention.set_for_run(TENANT, run.id, None, False)
    assert pump.expire() == 3
    assert _partition(run.id) == []


def test_patch_for_run_changes_only_the_fields_sent(api: Api) -> None:
    run = _stored_run("wf-1", age=1, max_age=600)
    patched = retention.patch_for_run(
        TENANT, run.id, RetentionBody.model_validate({"preserve_on_failure": True})
    )
    assert patched.retention == Retention(max_age_in_seconds=600, preserve_on_failure=True)
    forever = retention.patch_for_run(
        TENANT, run.id, RetentionBody.model_validate({"max_age_in_seconds": None})
    )
    assert forever.retention == Retention(max_age_in_seconds=None, preserve_on_failure=True)


def test_another_tenants_or_workflows_run_is_not_found(api: Api) -> None:
    run = _stored_run("wf-1", age=1, max_age=None)
    with pytest.raises(NotFound):
        retention.set_for_run("tenant-b", run.id, 60, False)
    with pytest.raises(NotFound):
        retention.set_for_run(TENANT, run.id, 60, False, workflow_id="wf-2")
    with pytest.raises(NotFound):
        retention.set_for_run(TENANT, "0" * 24, 60, False)
    with pytest.raises(Refused, match="max_age_in_seconds"):
        retention.set_for_run(TENANT, run.id, 0, False)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"max_age_in_seconds": 0}, "max_age_in_seconds"),
        ({"max_age_in_seconds": -5}, "max_age_in_seconds"),
        ({"max_age_in_seconds": 1.5}, "max_age_in_seconds"),
        ({"max_age_in_seconds": "60"}, "max_age_in_seconds"),
        ({"max_age_in_seconds": True}, "max_age_in_seconds"),
        ({"preserve_on_failure": "yes"}, "preserve_on_failure"),
        ({"max_age": 60}, "max_age"),
    ],
)
def test_the_body_refuses_anything_but_a_positive_integer_or_null(
    body: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        RetentionBody.model_validate(body)
    assert [e["loc"] for e in caught.value.errors()] == [(field,)]


def test_an_empty_body_says_what_to_send() -> None:
    with pytest.raises(ValidationError, match="max_age_in_seconds, preserve_on_failure"):
        RetentionBody.model_validate({})


# -- reads, and what the finalize tasks write ------------------------------------------------


def test_reads_hide_due_finished_runs_but_never_unfinished_ones(api: Api) -> None:
    live = _stored_run("wf-1", age=1, max_age=3600)
    due = _stored_run("wf-1", age=10, max_age=5)
    running = _stored_run("wf-1", age=10, max_age=5, status=RunStatus.RUNNING)
    listed = {r.id for r in run_store.list_for_workflow(TENANT, "wf-1", limit=10)}
    assert listed == {live.id, running.id}
    assert run_store.count_for_workflow(TENANT, "wf-1") == 2
    assert run_store.count_for_workflow(TENANT, "wf-1", status=RunStatus.SUCCEEDED) == 1
    assert [r.id for r in run_store.list_for_workflow(TENANT, "wf-1", limit=1)] == [live.id]
    assert run_store.get(due.id) is None
    assert run_store.get(running.id) is not None


def test_a_page_of_runs_is_filled_past_the_due_ones(api: Api) -> None:
    kept = [_stored_run("wf-1", age=100 - i, max_age=None) for i in range(3)]
    for i in range(5):
        _stored_run("wf-1", age=50 - i, max_age=1)
    listed = run_store.list_for_workflow(TENANT, "wf-1", limit=3)
    assert [r.id for r in listed] == [r.id for r in reversed(kept)]


def test_a_run_that_fails_while_preserved_loses_its_ttl_on_every_item(api: Api) -> None:
    run = _stored_run("wf-1", age=1, max_age=60, status=RunStatus.RUNNING, preserve=True, events=4)
    assert all(TTL_ATTRIBUTE in item for item in _partition(run.id))
    failed = run.model_copy(update={"status": RunStatus.FAILED})
    transitioned = run_store.transition(failed, {RunStatus.RUNNING})
    assert transitioned is not None and transitioned.event_ttl is None
    run_store.append_event(
        run.id, StepEvent(type=EventType.WORKFLOW_FINISHED, at=clock.iso()), transitioned.event_ttl
    )
    assert all(TTL_ATTRIBUTE not in item for item in _partition(run.id))
    stored = run_store.get(run.id)
    assert stored is not None and stored.retention_due_at is None

    # Asked not to preserve it after all: it is due again.
    retention.set_for_run(TENANT, run.id, 60, False)
    assert {int(i[TTL_ATTRIBUTE]) for i in _partition(run.id)} == {
        int(clock.parse_iso(run.created_at).timestamp()) + 60
    }


def test_a_transition_does_not_undo_a_retention_change_made_meanwhile(api: Api) -> None:
    run = _stored_run("wf-1", age=1, max_age=None, status=RunStatus.RUNNING)
    retention.set_for_run(TENANT, run.id, 600, True)
    # The finalize task still holds the run as it loaded it, before the change.
    assert run_store.transition(
        run.model_copy(update={"status": RunStatus.SUCCEEDED}), {RunStatus.RUNNING}
    )
    stored = run_store.get(run.id)
    assert stored is not None
    assert stored.retention == Retention(max_age_in_seconds=600, preserve_on_failure=True)
    assert stored.retention_due_at is not None


def test_events_written_with_the_start_ttl_after_a_retention_change_are_aligned_at_the_end(
    api: Api,
) -> None:
    run = _stored_run("wf-1", age=10, max_age=None, status=RunStatus.RUNNING, events=2)
    start_ttl = run_store.event_ttl(run)  # what the execution input gave every task: none
    retention.set_for_run(TENANT, run.id, 3600, False)
    due = int(clock.parse_iso(run.created_at).timestamp()) + 3600
    assert {int(item[TTL_ATTRIBUTE]) for item in _partition(run.id)} == {due}
    # A task still running writes its event with the TTL its execution started with.
    run_store.append_event(
        run.id, StepEvent(type=EventType.NODE_STARTED, at=clock.iso()), start_ttl
    )
    assert any(TTL_ATTRIBUTE not in item for item in _partition(run.id))

    ended = run_store.transition(
        run.model_copy(update={"status": RunStatus.SUCCEEDED}), {RunStatus.RUNNING}
    )

    assert ended is not None and ended.event_ttl == due
    assert {int(item[TTL_ATTRIBUTE]) for item in _partition(run.id)} == {due}


def test_a_stopped_run_is_not_preserved(api: Api) -> None:
    run = _stored_run("wf-1", age=1, max_age=60, status=RunStatus.RUNNING, preserve=True)
    assert run_store.transition(
        run.model_copy(update={"status": RunStatus.STOPPED}), {RunStatus.RUNNING}
    )
    assert all(TTL_ATTRIBUTE in item for item in _partition(run.id))


def test_an_event_written_after_ttl_deleted_its_run_leaves_no_run_behind(api: Api) -> None:
    # A run outliving its max age in AWS: TTL may delete its record while nodes still log.
    run_store.append_event("f" * 24, StepEvent(type=EventType.NODE_STARTED, at=clock.iso()), None)
    assert run_store.get("f" * 24) is None
    with pytest.raises(NotFound):
        retention.set_for_run(TENANT, "f" * 24, None, False)


# -- the local TTL and the retention function ------------------------------------------------


def test_expire_deletes_only_due_items_and_passes_only_run_records_on(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = _stored_run("wf-1", age=1, max_age=3600, events=2)
    due = _stored_run("wf-1", age=10, max_age=5, events=2)
    table().put_item(Item={"PK": "IDEMPOTENCY#x", "SK": "y", TTL_ATTRIBUTE: int(time.time()) - 1})
    purged: list[str] = []
    monkeypatch.setattr(retention, "purge", lambda run_id: purged.append(run_id) or 0)

    assert pump.expire() == 4
    assert purged == [due.id]
    assert len(_partition(live.id)) == 3
    assert "Item" not in table().get_item(Key={"PK": "IDEMPOTENCY#x", "SK": "y"})


def _stream_record(pk: str, sk: str = META, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "eventID": "1",
        "eventName": "REMOVE",
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "Keys": {"PK": {"S": pk}, "SK": {"S": sk}},
            "SequenceNumber": "100",
            "StreamViewType": "KEYS_ONLY",
        },
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
    }
    return {**record, **changes}


@pytest.mark.parametrize(
    ("record", "matches"),
    [
        (_stream_record("RUN#abc"), True),
        (_stream_record("RUN#abc", "EV#0000000001"), False),
        (_stream_record("IDEMPOTENCY#dispatcher", "x"), False),
        (_stream_record("RUN#abc", userIdentity=None), False),  # a user's DeleteItem
        (_stream_record("RUN#abc", eventName="MODIFY"), False),
        (_stream_record("RUN#abc", userIdentity={"type": "Service", "principalId": "x"}), False),
    ],
)
def test_the_handler_acts_on_exactly_what_the_event_filter_lets_through(
    record: dict[str, Any], matches: bool
) -> None:
    assert retention_handler.is_ttl_deletion(record) is matches
    assert _pattern_matches(retention_handler.TTL_DELETIONS, record) is matches


def _pattern_matches(pattern: Any, value: Any) -> bool:
    """EventBridge/Lambda filter semantics for the few operators TTL_DELETIONS uses."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            _pattern_matches(sub, value.get(name)) for name, sub in pattern.items()
        )
    return any(
        (str(value).startswith(rule["prefix"]) if value is not None else False)
        if isinstance(rule, dict)
        else value == rule
        for rule in pattern
    )


def test_the_handler_deletes_the_runs_objects_and_reports_failures(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = boto3.client("s3", region_name=aws.REGION)
    bucket = get_settings().bucket_name
    for key in ("runs/r1/trigger.json", "runs/r1/outputs/a/1.json", "runs/r10/keep.json"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"{}")
    context = aws.FunctionContext(pump.RETENTION)
    answer = retention_handler.handler({"Records": [_stream_record("RUN#r1")]}, context)
    assert answer == {"batchItemFailures": []}
    assert _objects("r1") == [] and _objects("r10") == ["runs/r10/keep.json"]

    def broken(_run_id: str) -> int:
        raise RuntimeError("S3 is down")

    monkeypatch.setattr(retention, "purge", broken)
    answer = retention_handler.handler({"Records": [_stream_record("RUN#r10")]}, context)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "100"}]}


def _iso(epoch: int) -> str:
    return clock.iso(clock.parse_iso("1970-01-01T00:00:00Z") + timedelta(seconds=epoch))
