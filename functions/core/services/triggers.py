"""Triggers: keep each workflow's schedule or rule in step with it, take in events and
webhooks, and turn what the trigger queue delivers into runs.

Every trigger ends in the one trigger queue: Scheduler and EventBridge rules send to it
themselves; POST /v1/events publishes to the bus its rules watch; a webhook request is
checked here and queued. The dispatcher hands each message to `dispatch`, which starts
the run through `runs.start` like every face. A delivery's run id derives from the
delivery itself, so a message delivered twice starts one run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from aws_lambda_powertools import Logger

from functions.core import clock, nesting, payloads
from functions.core.data import blobs
from functions.core.data import workflows as workflow_store
from functions.core.errors import Conflict, NotFound, Problem, Refused
from functions.core.ids import derived_id
from functions.core.model import trigger as trigger_model
from functions.core.model.run import Run
from functions.core.model.trigger import TRIGGERED_BY, Trigger, TriggerType, WebhookSpec
from functions.core.services import runs
from functions.core.settings import get_settings
from functions.core.triggers import messages, signatures, sources
from functions.core.triggers.messages import CronFired, EventMatched, TriggerMessage, WebhookCalled

logger = Logger(service="stepcanvas-triggers")

NEXT_RUNS = 3
# An event is matched on its data, so the data must travel in it: EventBridge carries at
# most 256 KB an entry. The same bound decides when a webhook's data travels in its queue
# message (SQS: 256 KB) or beside it in S3.
MAX_DATA_BYTES = 200 * 1024
# A webhook body must also reach the api function: Lambda takes 6 MB a synchronous event.
MAX_WEBHOOK_BYTES = 5 * 1024 * 1024
_DROPPED_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        signatures.HEADER,
    }
)


class Unauthorized(Refused):
    """A webhook request that does not prove it comes from the secret's holder."""

    def __init__(self) -> None:
        # One answer for every reason, so it tells a prober nothing about the workflow.
        super().__init__("unauthorized", "invalid or missing webhook signature")


# --- saving a workflow -------------------------------------------------------------------


def check(trigger: Trigger) -> list[Problem]:
    """Every problem of a trigger, EventBridge's verdict on a filter included."""
    found = trigger_model.problems(trigger)
    if not found and trigger.type is TriggerType.EVENT and trigger.filter:
        sample = _bus_event("sample", "probe", trigger.event or "", {})
        try:
            sources.matches(_event_pattern("probe", trigger), sample)
        except sources.PatternRefused as exc:
            found.append(Problem("trigger.filter", f"EventBridge refused the pattern: {exc}"))
    return found


def attach(record: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
    """Create or update what fires the workflow's trigger; remove what its previous
    trigger used and the new one does not."""
    trigger = Trigger.model_validate(record["trigger"])
    if previous is not None:
        before = Trigger.model_validate(previous["trigger"])
        if before.type is not trigger.type:
            _remove(previous["id"], before)
    workflow_id, tenant_id, enabled = record["id"], record["tenantId"], record["enabled"]
    match trigger.type:
        case TriggerType.CRON:
            schedule = trigger_model.schedule_of(trigger)
            sources.put_schedules(
                workflow_id,
                schedule.eventbridge_expressions(),
                trigger.timezone,
                messages.cron_template(workflow_id, tenant_id),
                enabled,
            )
        case TriggerType.EVENT | TriggerType.S3:
            sources.put_rule(
                workflow_id,
                _bus(trigger),
                _pattern(tenant_id, trigger),
                messages.event_template(
                    "event" if trigger.type is TriggerType.EVENT else "s3", workflow_id, tenant_id
                ),
                enabled,
            )
        case TriggerType.WEBHOOK:
            record.setdefault("webhookNonce", signatures.new_nonce())
        case TriggerType.MANUAL:
            pass
    if trigger.type is not TriggerType.WEBHOOK:
        record.pop("webhookNonce", None)


def detach(record: dict[str, Any]) -> None:
    """Remove everything that fires the workflow (before the workflow goes)."""
    _remove(record["id"], Trigger.model_validate(record["trigger"]))


def _remove(workflow_id: str, trigger: Trigger) -> None:
    match trigger.type:
        case TriggerType.CRON:
            sources.delete_schedules(workflow_id)
        case TriggerType.EVENT | TriggerType.S3:
            sources.delete_rule(workflow_id, _bus(trigger))
        case _:
            pass


def describe(record: dict[str, Any]) -> dict[str, Any]:
    """What a saved trigger shows beyond its fields: next fire times, the watched S3
    location, the webhook's path."""
    trigger = Trigger.model_validate(record["trigger"])
    match trigger.type:
        case TriggerType.CRON:
            fires = trigger_model.schedule_of(trigger).next_runs(NEXT_RUNS)
            return {"nextRuns": [fire.isoformat() for fire in fires]}
        case TriggerType.S3:
            location = s3_location(record["tenantId"], trigger)
            return {"s3Uri": f"{blobs.SCHEME}{get_settings().bucket_name}/{location}"}
        case TriggerType.WEBHOOK:
            return {"webhook": {"path": webhook_path(record["id"])}}
        case _:
            return {}


def webhook_path(workflow_id: str) -> str:
    return f"/v1/hooks/{workflow_id}"


def webhook_secret(record: dict[str, Any]) -> str:
    """The secret of a webhook workflow, derived (never stored); shown once by the faces."""
    return signatures.secret_for(record["id"], record["webhookNonce"])


def s3_location(tenant_id: str, trigger: Trigger) -> str:
    """The key prefix an S3 trigger watches: inside the tenant's own part of the bucket."""
    return f"tenants/{tenant_id}/objects/{trigger.prefix}"


def _bus(trigger: Trigger) -> str:
    return get_settings().event_bus_name if trigger.type is TriggerType.EVENT else "default"


def _pattern(tenant_id: str, trigger: Trigger) -> dict[str, Any]:
    if trigger.type is TriggerType.EVENT:
        return _event_pattern(tenant_id, trigger)
    location = s3_location(tenant_id, trigger)
    key: dict[str, str] = (
        {"wildcard": f"{location}*{trigger.suffix}"} if trigger.suffix else {"prefix": location}
    )
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [get_settings().bucket_name]}, "object": {"key": [key]}},
    }


def _event_pattern(tenant_id: str, trigger: Trigger) -> dict[str, Any]:
    detail: dict[str, Any] = {"tenantId": [tenant_id]}
    if trigger.filter:
        detail["data"] = trigger.filter
    return {"source": [sources.EVENT_SOURCE], "detail-type": [trigger.event], "detail": detail}


def _bus_event(event_id: str, tenant_id: str, type_: str, data: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "source": sources.EVENT_SOURCE,
        "detail-type": type_,
        "account": "000000000000",
        "region": get_settings().region,
        "time": clock.iso(),
        "resources": [],
        "detail": {"tenantId": tenant_id, "data": data},
    }


# --- events and webhooks -----------------------------------------------------------------


def publish_event(tenant_id: str, type_: str, data: Any) -> tuple[str, int]:
    """Publish a tenant's event; its id and how many workflows it starts."""
    problems = trigger_model.problems(Trigger(type=TriggerType.EVENT, event=type_))
    if problems:
        raise Refused("invalid_param", f"type: {problems[0].reason}")
    _check_size(data, "data")
    event_id = sources.put_event(type_, {"tenantId": tenant_id, "data": data})
    sample = _bus_event(event_id, tenant_id, type_, data)
    matched = 0
    for record in workflow_store.list_for_tenant(tenant_id):
        trigger = Trigger.model_validate(record["trigger"])
        if trigger.type is TriggerType.EVENT and trigger.event == type_ and record["enabled"]:
            matched += sources.matches(_event_pattern(tenant_id, trigger), sample)
    return event_id, matched


@dataclass(frozen=True)
class WebhookRequest:
    method: str
    headers: dict[str, str]  # names lower-cased
    query: dict[str, str]
    body: bytes


def receive_webhook(workflow_id: str, request: WebhookRequest) -> str:
    """Check a webhook request and queue its run; the run's id."""
    record = workflow_store.get(workflow_id)
    if record is None or "webhookNonce" not in record:
        raise Unauthorized()
    try:
        signed_at = signatures.verify(
            webhook_secret(record), request.headers.get(signatures.HEADER), request.body
        )
    except signatures.BadSignature as exc:
        logger.info("webhook refused", workflow_id=workflow_id, reason=str(exc))
        raise Unauthorized() from exc
    if not record["enabled"]:
        raise Conflict(f"workflow '{workflow_id}' is disabled")
    trigger = Trigger.model_validate(record["trigger"])
    data = _webhook_data(trigger.webhook, request)
    signature = request.headers[signatures.HEADER]
    # The same signed request, replayed within the window, names the same run.
    run_id = derived_id(signed_at, workflow_id, "webhook", signature)
    inline: dict[str, Any] | None = data
    data_ref = None
    if len(json.dumps(data, ensure_ascii=False).encode()) > MAX_DATA_BYTES:
        # Under the run's prefix: its retention deletes it with the run's other objects.
        inline, data_ref = None, blobs.put_json(f"{blobs.run_prefix(run_id)}webhook.json", data)
    message = WebhookCalled(
        kind="webhook",
        workflow_id=workflow_id,
        tenant_id=record["tenantId"],
        run_id=run_id,
        called_at=datetime.fromtimestamp(signed_at, UTC).isoformat(),
        data=inline,
        data_ref=data_ref,
    )
    sources.send(message.model_dump_json(by_alias=True))
    return run_id


def _webhook_data(spec: WebhookSpec | None, request: WebhookRequest) -> dict[str, Any]:
    """What the run sees; a request the webhook's declaration refuses answers 4xx."""
    spec = spec or WebhookSpec()  # the v1 `{"type": "webhook"}`: any method, any body
    if spec.method and request.method != spec.method:
        raise Refused("method_not_allowed", f"this webhook accepts {spec.method} only")
    _check_size_bytes(len(request.body), "body", MAX_WEBHOOK_BYTES)
    body = _parsed_body(request)
    headers = {
        name: value
        for name, value in request.headers.items()
        if name not in _DROPPED_HEADERS and not name.startswith("x-amzn-")
    }
    for where, declared, given in (
        ("header", spec.headers, headers),
        ("query parameter", spec.params, request.query),
        ("body field", spec.body, body if isinstance(body, dict) else {}),
    ):
        for parameter in declared:
            name = parameter.name.lower() if where == "header" else parameter.name
            if parameter.required and name not in given:
                raise Refused("invalid_param", f"the {where} '{parameter.name}' is required")
    return {"method": request.method, "headers": headers, "query": request.query, "body": body}


def _parsed_body(request: WebhookRequest) -> Any:
    if not request.body:
        return {}
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    text = request.body.decode("utf-8", "replace")
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            return nesting.loads(text)
        except nesting.TooDeep as exc:
            raise Refused("invalid_param", f"body: {exc}") from exc
        except ValueError as exc:
            raise Refused("invalid_param", f"body: not valid JSON ({exc})") from exc
    if content_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(text, keep_blank_values=True))
    return {"raw": text}


def _check_size(data: Any, field: str) -> None:
    _check_size_bytes(len(json.dumps(data, ensure_ascii=False).encode()), field, MAX_DATA_BYTES)


def _check_size_bytes(size: int, field: str, limit: int) -> None:
    if size > limit:
        raise Refused("payload_too_large", f"{field}: {size:,} bytes; the limit is {limit:,}")


def rotate_webhook(record: dict[str, Any]) -> dict[str, Any]:
    """A new secret for a webhook workflow: the old one stops working at once."""
    if Trigger.model_validate(record["trigger"]).type is not TriggerType.WEBHOOK:
        raise Refused("invalid_param", "this workflow's trigger is not a webhook")
    record["webhookNonce"] = signatures.new_nonce()
    workflow_store.put(record)
    return record


# --- the trigger queue -------------------------------------------------------------------


def dispatch(message: TriggerMessage) -> Run | None:
    """Start the run a queue message asks for; None when nothing is to run (the workflow
    is gone, disabled, or no longer has this trigger)."""
    record = workflow_store.get(message.workflow_id)
    if record is None or record["tenantId"] != message.tenant_id:
        logger.info("trigger for a missing workflow dropped", workflow_id=message.workflow_id)
        return None
    trigger = Trigger.model_validate(record["trigger"])
    if TRIGGERED_BY[trigger.type] != message.kind or not record["enabled"]:
        logger.info("trigger no longer applies", workflow_id=message.workflow_id)
        return None
    fired = _fired(message, trigger, record["tenantId"])
    if fired is None:
        return None
    at, data = fired
    run_id = message.run_id if isinstance(message, WebhookCalled) else None
    try:
        return runs.start(
            record["tenantId"],
            record["id"],
            data,
            triggered_by=message.kind,
            run_id=run_id or derived_id(at, record["id"], message.kind, message.id),
        )
    except (Conflict, NotFound):
        return None  # disabled or deleted between the read above and the start


def _fired(
    message: TriggerMessage, trigger: Trigger, tenant_id: str
) -> tuple[float, dict[str, Any]] | None:
    """When the trigger fired (epoch seconds) and what the run sees as `trigger.data`."""
    if isinstance(message, CronFired):
        data = {
            "scheduledTime": message.scheduled_time,
            "schedule": trigger.schedule,
            "timezone": trigger.timezone,
        }
        return _epoch(message.scheduled_time), data
    if isinstance(message, WebhookCalled):
        return _epoch(message.called_at), payloads.unpack_trigger(message.data, message.data_ref)
    return _from_event(message, trigger, tenant_id)


def _from_event(
    message: EventMatched, trigger: Trigger, tenant_id: str
) -> tuple[float, dict[str, Any]] | None:
    event = message.event
    detail: dict[str, Any] = event.get("detail") or {}
    at = _epoch(event.get("time"))
    if message.kind == "event":
        if detail.get("tenantId") != tenant_id:
            return None
        data = {
            "eventId": event.get("id"),
            "type": event.get("detail-type"),
            "time": _iso(at),
            "data": detail.get("data"),
        }
        return at, data
    bucket = str((detail.get("bucket") or {}).get("name", ""))
    obj: dict[str, Any] = detail.get("object") or {}
    key = str(obj.get("key", ""))
    # The rule matched already; checked again so no message can reach outside the tenant.
    location = s3_location(tenant_id, trigger)
    if bucket != get_settings().bucket_name or not (
        key.startswith(location) and key.endswith(trigger.suffix)
    ):
        return None
    head = blobs.head(bucket, key)
    data = {
        "bucket": bucket,
        "key": key,
        "size": obj.get("size", head.get("ContentLength")),
        "etag": obj.get("etag") or obj.get("eTag") or str(head.get("ETag", "")).strip('"'),
        "contentType": head.get("ContentType"),
    }
    return at, data


def _epoch(value: Any) -> float:
    """A delivery's time, ISO 8601 as EventBridge writes it (moto writes epoch seconds);
    a message without one is malformed (ValueError)."""
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")
