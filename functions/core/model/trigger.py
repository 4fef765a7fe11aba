"""What starts a workflow's runs besides a manual call: the saved `trigger` and its checks.

One model for every face: the v1 `trigger` field is this shape, and Dify's
`trigger-schedule` / `trigger-webhook` start nodes import into it. Validation happens at
save, like the graph's, and names the field at fault (`trigger.schedule`).
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.core.errors import Problem
from functions.core.triggers import cron


class TriggerType(StrEnum):
    MANUAL = "manual"
    CRON = "cron"
    EVENT = "event"
    S3 = "s3"
    WEBHOOK = "webhook"


# `triggeredBy` of a run, per trigger type (a manual run is an API call).
TRIGGERED_BY = {
    TriggerType.MANUAL: "api",
    TriggerType.CRON: "cron",
    TriggerType.EVENT: "event",
    TriggerType.S3: "s3",
    TriggerType.WEBHOOK: "webhook",
}

ParameterType = Literal["string", "number", "boolean", "object", "array", "file"]


class WebhookParameter(BaseModel):
    """A header, query parameter or body field a webhook declares (Dify's trigger-webhook)."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=256)
    type: ParameterType = "string"
    required: bool = False


class WebhookSpec(BaseModel):
    """What a webhook accepts. Empty lists accept anything (the v1 `{"type": "webhook"}`)."""

    model_config = ConfigDict(extra="ignore")

    # None (the v1 `{"type": "webhook"}`) accepts any method; Dify's node declares one.
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] | None = None
    content_type: str = "application/json"
    headers: list[WebhookParameter] = Field(default_factory=list)
    params: list[WebhookParameter] = Field(default_factory=list)
    body: list[WebhookParameter] = Field(default_factory=list)


class Trigger(BaseModel):
    # What a GET shows beside these (nextRuns, s3Uri, webhook.url) is ignored when sent back.
    model_config = ConfigDict(extra="ignore")

    type: TriggerType = TriggerType.MANUAL
    # cron
    schedule: str | None = Field(default=None, max_length=256)
    timezone: str = Field(default="UTC", max_length=64)
    # event
    event: str | None = Field(default=None, max_length=256)
    filter: dict[str, Any] | None = None
    # s3
    prefix: str = Field(default="", max_length=512)
    suffix: str = Field(default="", max_length=128)
    # webhook
    webhook: WebhookSpec | None = None

    def stored(self) -> dict[str, Any]:
        """Only the fields of its type: a cron trigger keeps no `prefix`."""
        keep = {"type", *FIELDS_OF[self.type]}
        return self.model_dump(mode="json", include=keep, exclude_none=True)


FIELDS_OF: dict[TriggerType, tuple[str, ...]] = {
    TriggerType.MANUAL: (),
    TriggerType.CRON: ("schedule", "timezone"),
    TriggerType.EVENT: ("event", "filter"),
    TriggerType.S3: ("prefix", "suffix"),
    TriggerType.WEBHOOK: ("webhook",),
}
# Event types are dotted names (`device.alarm`); EventBridge's detail-type allows more,
# but a narrow shape keeps them readable and safe in patterns.
_EVENT_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
# S3 keys the trigger watches: no wildcard characters (patterns use them) and no dot
# segments, so the tenant's prefix can never be climbed out of.
_KEY_PART = re.compile(r"^[A-Za-z0-9!_.'()/ -]*$")
MAX_FILTER_BYTES = 2048


def problems(trigger: Trigger) -> list[Problem]:
    """Every problem of a trigger, each naming its field."""
    match trigger.type:
        case TriggerType.CRON:
            return _cron_problems(trigger)
        case TriggerType.EVENT:
            return _event_problems(trigger)
        case TriggerType.S3:
            return _s3_problems(trigger)
        case _:
            return []


def schedule_of(trigger: Trigger) -> cron.Schedule:
    """The parsed schedule of a valid cron trigger."""
    assert trigger.schedule is not None
    return cron.parse(trigger.schedule, trigger.timezone)


def _cron_problems(trigger: Trigger) -> list[Problem]:
    if not trigger.schedule:
        return [Problem("trigger.schedule", "a cron trigger needs a schedule, e.g. '0 9 * * *'")]
    try:
        cron.parse("* * * * *", trigger.timezone)
    except cron.CronError as exc:
        return [Problem("trigger.timezone", str(exc))]
    try:
        schedule = schedule_of(trigger)
    except cron.CronError as exc:
        return [Problem("trigger.schedule", str(exc))]
    if not schedule.next_runs(1):
        return [Problem("trigger.schedule", f"'{trigger.schedule}' never fires again")]
    return []


def _event_problems(trigger: Trigger) -> list[Problem]:
    found = []
    if not trigger.event or not _EVENT_TYPE.match(trigger.event):
        found.append(
            Problem(
                "trigger.event",
                "an event trigger needs the event type it runs for: letters, digits and "
                "'.', '_', ':', '-' (e.g. 'device.alarm'), at most 128 characters",
            )
        )
    if trigger.filter is not None:
        if not trigger.filter:
            found.append(Problem("trigger.filter", "an empty filter; leave it out to match all"))
        elif len(json.dumps(trigger.filter)) > MAX_FILTER_BYTES:
            found.append(Problem("trigger.filter", f"over {MAX_FILTER_BYTES} bytes"))
        else:
            found += [
                Problem(f"trigger.filter.{w}", r) for w, r in _pattern_problems(trigger.filter)
            ]
    return found


def _pattern_problems(pattern: dict[str, Any], where: str = "") -> list[tuple[str, str]]:
    """The shape EventBridge content filtering takes: objects whose leaves are non-empty
    arrays of values or of matcher objects. EventBridge itself judges the matchers."""
    found: list[tuple[str, str]] = []
    for key, value in pattern.items():
        path = f"{where}.{key}" if where else key
        if isinstance(value, dict) and value:
            found += _pattern_problems(value, path)
        elif not (isinstance(value, list) and value):
            found.append((path, "must be a non-empty array of values or matchers, or an object"))
    return found


def _s3_problems(trigger: Trigger) -> list[Problem]:
    found = []
    for name, value in (("prefix", trigger.prefix), ("suffix", trigger.suffix)):
        if not _KEY_PART.match(value) or ".." in value.split("/") or value.startswith("/"):
            found.append(
                Problem(
                    f"trigger.{name}",
                    "letters, digits, spaces and !_.'()/- only; no '..' segment, no leading '/'",
                )
            )
    return found
