"""What the trigger queue carries: one typed message per trigger kind.

Written by EventBridge Scheduler (the schedule's input template), by the EventBridge rules'
input transformers and by the webhook route; read by the dispatcher. The JSON field names
are the templates' (camelCase); `id` is what makes a delivery unique for idempotency.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

# Scheduler replaces this in a schedule's input with the time the schedule fired for.
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
# An input transformer replaces this with the matched event, as JSON.
MATCHED_EVENT = "<aws.events.event.json>"


class _Message(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    workflow_id: str = Field(alias="workflowId", min_length=1, max_length=64)
    tenant_id: str = Field(alias="tenantId", min_length=1, max_length=128)


class CronFired(_Message):
    kind: Literal["cron"]
    scheduled_time: str = Field(alias="scheduledTime")

    @property
    def id(self) -> str:
        return self.scheduled_time


class EventMatched(_Message):
    """A bus event (POST /v1/events) or an S3 "Object Created" event a rule matched."""

    kind: Literal["event", "s3"]
    event: dict[str, Any]

    @property
    def id(self) -> str:
        if self.kind == "s3":
            # S3 may report one write in several events; key + sequencer names the write.
            obj = (self.event.get("detail") or {}).get("object") or {}
            return f"{obj.get('key', '')}#{obj.get('sequencer', '')}"
        return str(self.event.get("id", ""))


class WebhookCalled(_Message):
    kind: Literal["webhook"]
    run_id: str = Field(alias="runId")
    called_at: str = Field(alias="calledAt")
    # The request as the run sees it, or (when large) where it waits in S3.
    data: dict[str, Any] | None = None
    data_ref: str | None = Field(default=None, alias="dataRef")

    @property
    def id(self) -> str:
        return self.run_id


TriggerMessage = Annotated[CronFired | EventMatched | WebhookCalled, Field(discriminator="kind")]
MESSAGE = TypeAdapter[TriggerMessage](TriggerMessage)


def cron_template(workflow_id: str, tenant_id: str) -> str:
    """A schedule's input: the message, with Scheduler filling in the fire time."""
    return (
        f'{{"kind": "cron", "workflowId": "{workflow_id}", "tenantId": "{tenant_id}", '
        f'"scheduledTime": "{SCHEDULED_TIME}"}}'
    )


def event_template(kind: Literal["event", "s3"], workflow_id: str, tenant_id: str) -> str:
    """A rule target's input template: the message around the whole matched event."""
    return (
        f'{{"kind": "{kind}", "workflowId": "{workflow_id}", "tenantId": "{tenant_id}", '
        f'"event": {MATCHED_EVENT}}}'
    )
