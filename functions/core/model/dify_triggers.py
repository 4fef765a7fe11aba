"""Dify's trigger start nodes (Dify 1.10+) -> the draft's trigger and its start node config.

A `trigger-schedule` or `trigger-webhook` node takes the start node's place: it becomes
the graph's start (NodeType.START) with a config the start node function reads
(`source` and, for a webhook, the declared fields), and its settings become
`Draft.trigger`. `trigger-plugin` has no equivalent here and is refused as unsupported.

trigger-schedule `data` (Dify's TriggerScheduleNodeData): `mode` visual|cron (default
visual), `frequency` hourly|daily|weekly|monthly, `visual_config` {on_minute, time
("2:30 PM"), weekdays ["sun".."sat"], monthly_days [1-31 | "last"]}, `cron_expression`,
`timezone` (default UTC). Dify's export adds `config` (the node's defaults), which its
engine ignores; so does this. Visual settings become a 5-field cron as Dify's
`visual_to_cron` writes it: hourly `M * * * *`; daily `M H * * *`; weekly `M H * * 0,1`
(sun=0); monthly `M H 1,15 * *`, "last" as `L`. Dify allows "last" beside numbered days
(`1,15,L`); one EventBridge schedule cannot express that, so it is refused. Cron mode takes
a 5-field expression or Dify's @hourly/@daily/@weekly/@monthly/@yearly.

trigger-webhook `data` (Dify's WebhookData): `method` (any case; default GET, Dify's),
`content_type` (default application/json), `headers` [{name, required}], `params` and
`body` [{name, type, required}] with Dify's types (string, number, boolean, object,
array[string|number|boolean|object], file; the legacy "array" is array[string], as Dify's
editor reads it). The start node outputs each by name (a header with '-' as '_'), plus
`_webhook_raw`; see functions/nodes/start/webhook.py. `status_code`, `response_body` and
`timeout` shape Dify's synchronous reply; a webhook here always answers 202 at once.

Every problem names its field (`visual_config.time: ...`); dify_graph adds the node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, cast

from functions.core.model.trigger import (
    ParameterType,
    Trigger,
    TriggerType,
    WebhookParameter,
    WebhookSpec,
)
from functions.core.triggers import cron

SCHEDULE = "trigger-schedule"
WEBHOOK = "trigger-webhook"
KINDS = frozenset({SCHEDULE, WEBHOOK})

# The start node's output that holds the whole request (Dify's name).
RAW_OUTPUT = "_webhook_raw"

_WEEKDAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
_PREDEFINED = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_METHODS = frozenset({"get", "post", "head", "patch", "put", "delete"})
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
TEXT = "text/plain"
BINARY = "application/octet-stream"
_SCALARS = frozenset({"string", "number", "boolean"})
_ARRAYS = frozenset(f"array[{t}]" for t in ("string", "number", "boolean", "object"))
# Body field types per content type (Dify's editor offers these; its engine can fill no
# others). Multipart and binary bodies carry files, which a webhook here does not take.
_BODY_TYPES: dict[str, frozenset[str]] = {
    JSON: _SCALARS | {"object"} | _ARRAYS,
    FORM: _SCALARS,
    TEXT: frozenset({"string"}),
    MULTIPART: frozenset(),
    BINARY: frozenset(),
}


_Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]


@dataclass(frozen=True)
class TriggerStart:
    trigger: Trigger
    # The start node's config (functions/nodes/start/entities.py StartConfig).
    config: dict[str, Any]


def convert(kind: str, data: dict[str, Any], problems: list[str]) -> TriggerStart | None:
    """The trigger and start config of a trigger node's `data`; None (with `problems`)
    when its settings are invalid."""
    found: list[str] = []
    start = _schedule(data, found) if kind == SCHEDULE else _webhook(data, found)
    problems += found
    return None if found else start


# --- trigger-schedule ----------------------------------------------------------------------


def _schedule(data: dict[str, Any], problems: list[str]) -> TriggerStart | None:
    timezone = data.get("timezone", "UTC")
    if not isinstance(timezone, str) or not timezone.strip():
        problems.append("timezone: must name an IANA time zone, e.g. 'Europe/Berlin'")
        return None
    timezone = timezone.strip()
    mode = data.get("mode", "visual")
    if mode == "cron":
        field, expression = "cron_expression", _cron_mode(data.get("cron_expression"), problems)
    elif mode == "visual":
        field, expression = _visual(data.get("frequency"), data.get("visual_config"), problems)
    else:
        problems.append(f"mode: {mode!r} must be 'visual' or 'cron'")
        return None
    if expression is None or not _schedulable(field, expression, timezone, problems):
        return None
    trigger = Trigger(type=TriggerType.CRON, schedule=expression, timezone=timezone)
    return TriggerStart(trigger, {"source": "schedule"})


def _schedulable(field: str, expression: str, timezone: str, problems: list[str]) -> bool:
    """Whether the expression parses, fits EventBridge and fires again; else why not."""
    try:
        cron.parse("* * * * *", timezone)
    except cron.CronError as exc:
        problems.append(f"timezone: {exc}")
        return False
    try:
        schedule = cron.parse(expression, timezone)
        schedule.eventbridge_expressions()
    except cron.CronError as exc:
        problems.append(f"{field}: {exc}")
        return False
    try:
        fires = schedule.next_runs(1)
    except ValueError:  # croniter finds no date at all (Feb 30)
        fires = []
    if not fires:
        problems.append(f"{field}: '{expression}' never fires")
    return bool(fires)


def _cron_mode(value: Any, problems: list[str]) -> str | None:
    if not isinstance(value, str) or not value.strip():
        problems.append("cron_expression: cron mode needs an expression, e.g. '0 9 * * 1-5'")
        return None
    text = " ".join(value.split())
    if text.lower() in _PREDEFINED:
        return _PREDEFINED[text.lower()]
    if len(text.split(" ")) != 5:
        problems.append(
            f"cron_expression: '{text}' must have 5 fields (minute hour day-of-month month "
            "day-of-week) or be @hourly, @daily, @weekly, @monthly or @yearly"
        )
        return None
    return text


def _visual(frequency: Any, config: Any, problems: list[str]) -> tuple[str, str | None]:
    """(the field a refusal names, the cron Dify's `visual_to_cron` writes, or None)."""
    config = {} if config is None else config
    if not isinstance(config, dict):
        problems.append("visual_config: must be an object")
        return "visual_config", None
    if frequency == "hourly":
        minute = _integer(config.get("on_minute", 0))
        if minute is None or not 0 <= minute <= 59:
            problems.append(
                f"visual_config.on_minute: {config.get('on_minute')!r} must be a minute 0-59"
            )
            return "visual_config.on_minute", None
        return "visual_config.on_minute", f"{minute} * * * *"
    if not isinstance(frequency, str) or frequency not in _DAYS:
        problems.append(
            f"frequency: {frequency!r} must be hourly, daily, weekly or monthly"
            if frequency
            else "frequency: visual mode needs hourly, daily, weekly or monthly"
        )
        return "frequency", None
    key, read, position = _DAYS[frequency]
    clock = _time(config.get("time", "12:00 AM"), problems)
    chosen = read(config.get(key), problems)
    if clock is None or chosen is None:
        return f"visual_config.{key}", None
    fields = [str(clock[1]), str(clock[0]), "*", "*", "*"]
    fields[position] = chosen
    return f"visual_config.{key}", " ".join(fields)


def _every_day(_value: Any, _problems: list[str]) -> str:
    return "*"


def _time(value: Any, problems: list[str]) -> tuple[int, int] | None:
    """(hour, minute) of a 12-hour time, read as Dify's `convert_12h_to_24h` reads it."""
    if value is None or (isinstance(value, str) and not value.strip()):
        problems.append("visual_config.time: required, a 12-hour time like '2:30 PM'")
        return None
    try:
        return _twelve_hour(value)
    except ValueError as exc:
        problems.append(f"visual_config.time: {value!r} is not a time like '2:30 PM': {exc}")
        return None


def _twelve_hour(value: Any) -> tuple[int, int]:
    parts = value.split() if isinstance(value, str) else []
    if len(parts) != 2:
        raise ValueError("expected 'HH:MM AM/PM'")
    clock, period = parts[0], parts[1].upper()
    if period not in ("AM", "PM"):
        raise ValueError(f"the period {parts[1]!r} must be AM or PM")
    fields = clock.split(":")
    if len(fields) != 2 or not all(f.isdigit() for f in fields):
        raise ValueError(f"{clock!r} must be HH:MM")
    hour, minute = int(fields[0]), int(fields[1])
    if not 1 <= hour <= 12:
        raise ValueError(f"the hour {hour} must be 1-12")
    if not 0 <= minute <= 59:
        raise ValueError(f"the minute {minute} must be 0-59")
    if period == "PM" and hour != 12:
        hour += 12
    elif period == "AM" and hour == 12:
        hour = 0
    return hour, minute


def _weekdays(value: Any, problems: list[str]) -> str | None:
    if not isinstance(value, list) or not value:
        problems.append("visual_config.weekdays: a weekly schedule needs at least one day")
        return None
    unknown = [day for day in value if not isinstance(day, str) or day not in _WEEKDAYS]
    if unknown:
        problems.append(
            f"visual_config.weekdays: {unknown[0]!r} is not one of {', '.join(_WEEKDAYS)}"
        )
        return None
    return ",".join(str(n) for n in sorted({_WEEKDAYS[day] for day in value}))


def _monthly_days(value: Any, problems: list[str]) -> str | None:
    if not isinstance(value, list) or not value:
        problems.append("visual_config.monthly_days: a monthly schedule needs at least one day")
        return None
    numbered: set[int] = set()
    last = False
    for day in value:
        number = _integer(day)
        if day == "last":
            last = True
        elif number is not None and 1 <= number <= 31:
            numbered.add(number)
        else:
            problems.append(f"visual_config.monthly_days: {day!r} must be a day 1-31 or 'last'")
            return None
    if last and numbered:
        # Dify writes `1,15,L`; EventBridge's `L` stands alone in day-of-month.
        listed = ", ".join(str(n) for n in sorted(numbered))
        problems.append(
            f"visual_config.monthly_days: days {listed} and 'last' cannot be one schedule "
            "here (EventBridge's 'L' cannot be combined with other days); choose 'last' "
            "alone or numbered days only"
        )
        return None
    return "L" if last else ",".join(str(n) for n in sorted(numbered))


# Per frequency after hourly: the visual_config key that picks the days, how it is read
# into a cron field, and which field (2: day-of-month, 4: day-of-week).
_DAYS: dict[str, tuple[str, Callable[[Any, list[str]], str | None], int]] = {
    "daily": ("time", _every_day, 4),
    "weekly": ("weekdays", _weekdays, 4),
    "monthly": ("monthly_days", _monthly_days, 2),
}


def _integer(value: Any) -> int | None:
    """An int as Dify's models take one: an int, an integral float or digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


# --- trigger-webhook -----------------------------------------------------------------------


def _webhook(data: dict[str, Any], problems: list[str]) -> TriggerStart | None:
    method = data.get("method", "get")
    if not isinstance(method, str) or method.lower() not in _METHODS:
        problems.append(f"method: {method!r} must be one of {', '.join(sorted(_METHODS))}")
        method = "get"
    content_type = data.get("content_type", JSON)
    if not isinstance(content_type, str) or content_type not in _BODY_TYPES:
        problems.append(f"content_type: {content_type!r} must be one of {', '.join(_BODY_TYPES)}")
        content_type = JSON
    names: dict[str, str] = {}
    headers = _fields(data, "headers", frozenset({"string"}), names, problems)
    params = _fields(data, "params", _SCALARS, names, problems)
    if content_type in (MULTIPART, BINARY) and data.get("body"):
        problems.append(
            f"body: fields of a {content_type} body are not supported here (a webhook takes "
            f"no uploads); declare a {JSON}, {FORM} or {TEXT} body"
        )
        body: list[dict[str, Any]] = []
    else:
        body = _fields(data, "body", _BODY_TYPES[content_type], names, problems)
    if problems:
        return None
    spec = WebhookSpec(
        method=cast(_Method, method.upper()),
        content_type=content_type,
        headers=[_declared(f) for f in headers],
        params=[_declared(f) for f in params],
        body=_declared_body(content_type, body),
    )
    config = {
        "source": "webhook",
        "content_type": content_type,
        "headers": headers,
        "params": params,
        "body": body,
    }
    return TriggerStart(Trigger(type=TriggerType.WEBHOOK, webhook=spec), config)


def _fields(
    data: dict[str, Any],
    key: str,
    types: frozenset[str],
    names: dict[str, str],
    problems: list[str],
) -> list[dict[str, Any]]:
    """The declared fields of `key`, each {name, type, required}; `names` collects the
    output names taken so far (a header's '-' becomes '_', as Dify's node outputs it)."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(f"{key}: must be a list of {{name, type, required}}")
        return []
    fields: list[dict[str, Any]] = []
    for index, item in enumerate(value):
        where = f"{key}[{index}]"
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name.strip() or len(name) > 256:
            problems.append(f"{where}.name: a name of 1-256 characters is required")
            continue
        # Dify's headers have no type: their values are text.
        kind = "string" if key == "headers" else _type(item.get("type"))
        if kind not in types:
            allowed = ", ".join(sorted(types)) or "none"
            problems.append(f"{where}.type: {item.get('type')!r} is not one of {allowed}")
            continue
        output = name.replace("-", "_") if key == "headers" else name
        if output == RAW_OUTPUT or output in names:
            other = "the raw request" if output == RAW_OUTPUT else names[output]
            problems.append(
                f"{where}.name: '{name}' is output as '{output}', like {other}; "
                "each header, query parameter and body field needs its own name"
            )
            continue
        names[output] = f"{where} ('{name}')"
        fields.append({"name": name, "type": kind, "required": item.get("required") is True})
    return fields


def _type(value: Any) -> str:
    """Dify's type names, normalised as its editor does ("array" is array[string])."""
    if value is None:
        return "string"
    text = str(value).strip().lower()
    return "array[string]" if text == "array" else text


def _declared(field: dict[str, Any]) -> WebhookParameter:
    kind: ParameterType = "array" if field["type"] in _ARRAYS else field["type"]
    return WebhookParameter(name=field["name"], type=kind, required=field["required"])


def _declared_body(content_type: str, body: list[dict[str, Any]]) -> list[WebhookParameter]:
    """A text body is one field, `raw` (what the webhook route parses it into); Dify gives
    every declared field the whole text and requires some text if any is required."""
    if content_type != TEXT:
        return [_declared(f) for f in body]
    if not body:
        return []
    return [WebhookParameter(name="raw", required=any(f["required"] for f in body))]
