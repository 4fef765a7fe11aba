"""Trigger entry points: POST /v1/events (account key), the webhooks at /v1/hooks/{id}
(no key: an HMAC signature, see functions/core/triggers/signatures.py) and the rotation of
a webhook's secret."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, Field

from functions.api import bodies, v1_views
from functions.api.context import base_url, raw_body, require
from functions.api.contract import Face, documented
from functions.core.services import idempotency, triggers, workflows
from functions.core.services.keys import Scope

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated

# Routes API Gateway serves without the key authorizer (infra/api.py, local/gateway.py).
HOOK_PATH = "/v1/hooks/{workflow_id}"
HOOK_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class EventBody(BaseModel):
    type: str = Field(min_length=1, max_length=128)
    data: Any = None


@router.post("/v1/events")
@documented(Face.ACCOUNT, "triggers", success=202, body=EventBody, starts_run=True, errors=(413,))
def publish_event() -> tuple[dict[str, Any], int]:
    raw = bodies.of(router)
    body = bodies.parse(EventBody, raw)
    caller = require(router, Scope.WRITE)

    def publish() -> dict[str, Any]:
        event_id, matched = triggers.publish_event(caller.tenant_id, body.type, body.data)
        return {"eventId": event_id, "matched": matched}

    # A retry with the same Idempotency-Key publishes nothing and answers the first event.
    published = idempotency.once(
        caller.tenant_id, "POST /v1/events", raw.idempotency_key, raw.data, publish
    )
    return published, 202


@router.post("/v1/workflows/<workflow_id>/webhook/rotate")
@documented(Face.ACCOUNT, "triggers", errors=(400,))
def rotate_webhook(workflow_id: str) -> dict[str, Any]:
    caller = require(router, Scope.WRITE)
    record = triggers.rotate_webhook(workflows.get(caller.tenant_id, workflow_id))
    return {"trigger": v1_views.trigger(record, base_url(router), show_secret=True)}


@router.route("/v1/hooks/<workflow_id>", list(HOOK_METHODS))
@documented(Face.PUBLIC, "triggers", success=202, errors=(400, 401, 404, 405, 409, 413))
def call_webhook(workflow_id: str) -> tuple[dict[str, Any], int]:
    event = router.current_event
    request = triggers.WebhookRequest(
        method=event.http_method.upper(),
        headers={name.lower(): value for name, value in (event.headers or {}).items()},
        query=dict(event.query_string_parameters or {}),
        body=raw_body(router),
    )
    return {"runId": triggers.receive_webhook(workflow_id, request)}, 202
