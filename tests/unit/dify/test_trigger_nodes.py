"""Dify's trigger start nodes: trigger-schedule and trigger-webhook (Dify 1.10+).

The fixtures are in the shape Dify's editor saves and exports (its export adds the
schedule's default `config` and clears the webhook's URLs).
"""

from __future__ import annotations

from typing import Any

import pytest

from functions.core.errors import InvalidWorkflow, NodeError
from functions.core.model import trigger as trigger_model
from functions.core.model.dify_format import import_document
from functions.core.model.trigger import Trigger, TriggerType, WebhookParameter, WebhookSpec
from functions.core.model.workflow import Draft, NodeType
from functions.core.services.definitions import build_definition
from functions.nodes.start.entities import StartConfig
from functions.nodes.start.node import run as run_start
from tests.unit.dify.support import context, dify_edge, dify_node, dsl

# What Dify's export writes into every trigger-schedule node (its engine ignores it).
EXPORTED_DEFAULTS = {
    "mode": "visual",
    "frequency": "daily",
    "visual_config": {"time": "12:00 AM", "on_minute": 0, "weekdays": ["sun"], "monthly_days": [1]},
    "timezone": "UTC",
}


def schedule(**data: Any) -> dict[str, Any]:
    return dify_node("sched", "trigger-schedule", "Nightly", config=EXPORTED_DEFAULTS, **data)


def end(*selectors: list[str]) -> dict[str, Any]:
    outputs = [{"variable": f"v{i}", "value_selector": s} for i, s in enumerate(selectors)]
    return dify_node("end", "end", "End", outputs=outputs)


def imported(start: dict[str, Any], *selectors: list[str]) -> Draft:
    start_id = start["id"]
    return import_document(
        dsl([start, end(*selectors)], [dify_edge(start_id, "end")], version="0.5.0")
    )


def refusal(start: dict[str, Any]) -> list[str]:
    with pytest.raises(InvalidWorkflow) as caught:
        imported(start)
    return [str(p) for p in caught.value.problems]


# --- trigger-schedule ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "visual_config", "expected"),
    [
        ("hourly", {"on_minute": 15, "time": "3:00 PM"}, "15 * * * *"),
        ("hourly", {}, "0 * * * *"),
        ("daily", {"time": "2:30 PM"}, "30 14 * * *"),
        ("daily", {"time": "12:00 AM"}, "0 0 * * *"),
        ("daily", {"time": "12:05 pm"}, "5 12 * * *"),
        ("daily", None, "0 0 * * *"),  # Dify's default time
        ("weekly", {"time": "9:00 AM", "weekdays": ["fri", "mon", "sun"]}, "0 9 * * 0,1,5"),
        ("monthly", {"time": "9:00 AM", "monthly_days": [15, 1, 15]}, "0 9 1,15 * *"),
        ("monthly", {"time": "11:30 PM", "monthly_days": ["last"]}, "30 23 L * *"),
    ],
)
def test_visual_schedules_become_the_cron_dify_writes(
    frequency: str, visual_config: dict[str, Any] | None, expected: str
) -> None:
    draft = imported(
        schedule(
            mode="visual",
            frequency=frequency,
            visual_config=visual_config,
            cron_expression="",
            timezone="Europe/Berlin",
        )
    )

    assert draft.trigger == Trigger(
        type=TriggerType.CRON, schedule=expected, timezone="Europe/Berlin"
    )
    assert trigger_model.problems(draft.trigger) == []  # what saving checks again
    start = draft.graph.node("sched")
    assert (draft.entry, start.type, start.title) == ("sched", NodeType.START, "Nightly")
    assert start.config == {"source": "schedule"}


@pytest.mark.parametrize(
    ("expression", "timezone", "expected"),
    [
        ("0 */6 * * *", "Asia/Shanghai", "0 */6 * * *"),
        ("  30  9 * *  MON-FRI ", "America/New_York", "30 9 * * MON-FRI"),
        ("@daily", "UTC", "0 0 * * *"),
        ("@hourly", "UTC", "0 * * * *"),
    ],
)
def test_cron_mode_keeps_the_expression_and_time_zone(
    expression: str, timezone: str, expected: str
) -> None:
    draft = imported(schedule(mode="cron", cron_expression=expression, timezone=timezone))

    assert draft.trigger == Trigger(type=TriggerType.CRON, schedule=expected, timezone=timezone)


def test_a_schedule_without_mode_or_time_zone_takes_difys_defaults() -> None:
    node = dify_node("sched", "trigger-schedule", "Nightly", frequency="daily")

    assert imported(node).trigger == Trigger(
        type=TriggerType.CRON, schedule="0 0 * * *", timezone="UTC"
    )


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            {"frequency": "daily", "visual_config": {"time": "25:99 PM"}},
            "visual_config.time: '25:99 PM' is not a time like '2:30 PM': the hour 25 must be 1-12",
        ),
        (
            {"frequency": "daily", "visual_config": {"time": "9:75 AM"}},
            "visual_config.time: '9:75 AM' is not a time like '2:30 PM': "
            "the minute 75 must be 0-59",
        ),
        (
            {"frequency": "weekly", "visual_config": {"time": "14:00", "weekdays": ["mon"]}},
            "visual_config.time: '14:00' is not a time like '2:30 PM': expected 'HH:MM AM/PM'",
        ),
        (
            {"frequency": "daily", "visual_config": {"time": None}},
            "visual_config.time: required, a 12-hour time like '2:30 PM'",
        ),
        (
            {"frequency": "monthly", "visual_config": {"monthly_days": [1, 15, "last"]}},
            "visual_config.monthly_days: days 1, 15 and 'last' cannot be one schedule here "
            "(EventBridge's 'L' cannot be combined with other days); choose 'last' alone or "
            "numbered days only",
        ),
        (
            {"frequency": "monthly", "visual_config": {"monthly_days": [32]}},
            "visual_config.monthly_days: 32 must be a day 1-31 or 'last'",
        ),
        (
            {"frequency": "monthly", "visual_config": {"monthly_days": []}},
            "visual_config.monthly_days: a monthly schedule needs at least one day",
        ),
        (
            {"frequency": "weekly", "visual_config": {"weekdays": []}},
            "visual_config.weekdays: a weekly schedule needs at least one day",
        ),
        (
            {"frequency": "weekly", "visual_config": {"weekdays": ["Mon"]}},
            "visual_config.weekdays: 'Mon' is not one of sun, mon, tue, wed, thu, fri, sat",
        ),
        (
            {"frequency": "hourly", "visual_config": {"on_minute": 60}},
            "visual_config.on_minute: 60 must be a minute 0-59",
        ),
        (
            {"frequency": "yearly"},
            "frequency: 'yearly' must be hourly, daily, weekly or monthly",
        ),
        ({"mode": "interval"}, "mode: 'interval' must be 'visual' or 'cron'"),
        (
            {"mode": "cron", "cron_expression": ""},
            "cron_expression: cron mode needs an expression, e.g. '0 9 * * 1-5'",
        ),
        (
            {"mode": "cron", "cron_expression": "rate(5 minutes)"},
            "cron_expression: 'rate(5 minutes)' must have 5 fields (minute hour day-of-month "
            "month day-of-week) or be @hourly, @daily, @weekly, @monthly or @yearly",
        ),
        (
            {"mode": "cron", "cron_expression": "0 9 30 2 *"},
            "cron_expression: '0 9 30 2 *' never fires",
        ),
        (
            {"mode": "cron", "cron_expression": "0 9 1,L * *"},
            "cron_expression: 'L' cannot be combined with other days of the month",
        ),
        (
            {"mode": "cron", "cron_expression": "0 9 * * *", "timezone": "Mars/Olympus"},
            "timezone: 'Mars/Olympus' is not an IANA time zone name",
        ),
    ],
)
def test_invalid_schedules_are_refused_naming_the_node_and_field(
    data: dict[str, Any], reason: str
) -> None:
    data = {"mode": "visual", "timezone": "UTC", **data}

    assert refusal(schedule(**data)) == [f"node 'sched' (Nightly): {reason}"]


def test_a_schedule_start_outputs_only_the_system_variables_as_difys_does() -> None:
    config = StartConfig.model_validate(imported(schedule(frequency="daily")).graph.nodes[0].config)
    data = {"scheduledTime": "2025-01-01T09:00:00Z", "schedule": "0 9 * * *", "timezone": "UTC"}

    outputs = run_start(config, context(inputs=data, system={"workflow_run_id": "run-1"})).outputs

    assert outputs == {"sys.workflow_run_id": "run-1"}


def test_a_workflow_has_one_start_or_trigger() -> None:
    start = dify_node("s", "start", "Start", variables=[])
    nodes = [start, schedule(frequency="daily"), end()]

    with pytest.raises(InvalidWorkflow) as caught:
        import_document(dsl(nodes, [dify_edge("s", "end"), dify_edge("sched", "end")]))

    assert [str(p) for p in caught.value.problems] == [
        "nodes: has 2 start or trigger nodes ('s', 'sched'); a workflow here has one: "
        "a start node or a single trigger"
    ]


def test_plugin_triggers_are_not_supported() -> None:
    plugin = dify_node("p", "trigger-plugin", "On issue", plugin_id="x", event_name="created")

    assert "node 'p' (On issue): node type 'trigger-plugin' is not supported" in refusal(plugin)


# --- trigger-webhook -----------------------------------------------------------------------


def webhook(**data: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "webhook_url": "",
        "webhook_debug_url": "",
        "method": "post",
        "content_type": "application/json",
        "headers": [{"name": "X-Request-Id", "required": True}],
        "params": [
            {"name": "page", "type": "number", "required": False},
            {"name": "dry_run", "type": "boolean", "required": False},
        ],
        "body": [
            {"name": "order_id", "type": "string", "required": True},
            {"name": "amount", "type": "number", "required": False},
            {"name": "paid", "type": "boolean", "required": False},
            {"name": "meta", "type": "object", "required": False},
            {"name": "tags", "type": "array[string]", "required": False},
            {"name": "lines", "type": "array", "required": False},  # legacy: array[string]
        ],
        "async_mode": True,
        "status_code": 200,
        "response_body": "",
        "timeout": 30,
        # The outputs Dify's editor lists (the start node computes its own).
        "variables": [
            {
                "variable": "_webhook_raw",
                "label": "raw",
                "value_type": "object",
                "value_selector": [],
                "required": True,
            },
            {
                "variable": "X_Request_Id",
                "label": "header",
                "value_type": "string",
                "value_selector": [],
                "required": True,
            },
        ],
    }
    return dify_node("hook", "trigger-webhook", "Orders", **{**settings, **data})


def test_a_webhook_declares_its_request_as_the_trigger() -> None:
    draft = imported(webhook())

    assert draft.trigger == Trigger(
        type=TriggerType.WEBHOOK,
        webhook=WebhookSpec(
            method="POST",
            content_type="application/json",
            headers=[WebhookParameter(name="X-Request-Id", type="string", required=True)],
            params=[
                WebhookParameter(name="page", type="number"),
                WebhookParameter(name="dry_run", type="boolean"),
            ],
            body=[
                WebhookParameter(name="order_id", type="string", required=True),
                WebhookParameter(name="amount", type="number"),
                WebhookParameter(name="paid", type="boolean"),
                WebhookParameter(name="meta", type="object"),
                WebhookParameter(name="tags", type="array"),
                WebhookParameter(name="lines", type="array"),
            ],
        ),
    )
    start = draft.graph.node("hook")
    assert (draft.entry, start.type, start.timeout_seconds) == ("hook", NodeType.START, None)
    assert start.config["source"] == "webhook"
    assert start.config["body"][-1] == {"name": "lines", "type": "array[string]", "required": False}


REQUEST = {
    "method": "POST",
    "headers": {"x-request-id": "req-7", "content-type": "application/json"},
    "query": {"page": "2", "dry_run": "yes", "extra": "kept"},
    "body": {
        "order_id": "A-1",
        "amount": 12.5,
        "paid": True,
        "meta": {"source": "shop"},
        "tags": ["new", "vip"],
        "note": "undeclared",
    },
}


def start_outputs(node: dict[str, Any], data: Any) -> dict[str, Any]:
    config = StartConfig.model_validate(imported(node).graph.node(node["id"]).config)
    return run_start(config, context(inputs=data, system={"workflow_run_id": "run-1"})).outputs


def test_a_webhook_start_outputs_each_declared_field_typed_and_the_raw_request() -> None:
    outputs = start_outputs(webhook(), REQUEST)

    assert outputs == {
        "X_Request_Id": "req-7",
        "page": 2,
        "dry_run": True,
        "order_id": "A-1",
        "amount": 12.5,
        "paid": True,
        "meta": {"source": "shop"},
        "tags": ["new", "vip"],
        "lines": None,
        "_webhook_raw": {
            "method": "POST",
            "headers": REQUEST["headers"],
            "query_params": {"page": 2, "dry_run": True, "extra": "kept"},
            "body": REQUEST["body"],
            "files": {},
        },
        "sys.workflow_run_id": "run-1",
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"headers": {}}, "Required header missing: X-Request-Id"),
        ({"body": {"amount": 3}}, "Required body parameter missing: order_id"),
        (
            {"body": {"order_id": "A-1", "amount": "12"}},
            "Parameter 'amount' validation failed: Expected number, got str",
        ),
        (
            {"body": {"order_id": "A-1", "amount": True}},
            "Parameter 'amount' validation failed: Expected number, got bool",
        ),
        (
            {"body": {"order_id": "A-1", "tags": ["a", 1]}},
            "Parameter 'tags' validation failed: Expected array of strings, got list",
        ),
        (
            {"body": {"order_id": "A-1", "meta": []}},
            "Parameter 'meta' validation failed: Expected object, got list",
        ),
        (
            {"query": {"page": "two"}},
            "Parameter 'page' validation failed: Cannot convert 'two' to number",
        ),
        (
            {"query": {"page": "nan"}},
            "Parameter 'page' validation failed: Cannot convert 'nan' to number",
        ),
        (
            {"query": {"dry_run": "maybe"}},
            "Parameter 'dry_run' validation failed: Cannot convert 'maybe' to boolean",
        ),
    ],
)
def test_a_webhook_start_refuses_missing_or_mistyped_fields_naming_them(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(NodeError) as caught:
        start_outputs(webhook(), {**REQUEST, **change})

    assert str(caught.value) == message
    assert caught.value.error_type == "InvalidInput"


def test_required_query_parameters_are_checked_too() -> None:
    node = webhook(params=[{"name": "page", "type": "number", "required": True}])

    with pytest.raises(NodeError, match=r"^Required parameter missing: page$"):
        start_outputs(node, {**REQUEST, "query": {}})


def test_form_fields_are_text_converted_to_their_types() -> None:
    node = webhook(
        method="PUT",
        content_type="application/x-www-form-urlencoded",
        headers=[{"name": "x_shop", "required": False}],
        params=[],
        body=[
            {"name": "amount", "type": "number", "required": True},
            {"name": "count", "type": "number", "required": False},
            {"name": "paid", "type": "boolean", "required": False},
            {"name": "who", "type": "string", "required": False},
        ],
    )
    data = {
        "method": "PUT",
        "headers": {"x-shop": "berlin"},
        "query": {},
        "body": {"amount": "12.50", "count": "1e3", "paid": "No", "who": "5"},
    }

    outputs = start_outputs(node, data)

    assert imported(node).trigger.webhook == WebhookSpec(
        method="PUT",
        content_type="application/x-www-form-urlencoded",
        headers=[WebhookParameter(name="x_shop")],
        body=[
            WebhookParameter(name="amount", type="number", required=True),
            WebhookParameter(name="count", type="number"),
            WebhookParameter(name="paid", type="boolean"),
            WebhookParameter(name="who"),
        ],
    )
    assert {k: v for k, v in outputs.items() if not k.startswith(("_", "sys."))} == {
        "x_shop": "berlin",
        "amount": 12.5,
        "count": 1000,
        "paid": False,
        "who": "5",
    }


def test_a_text_body_gives_each_declared_field_the_whole_text() -> None:
    node = webhook(
        content_type="text/plain",
        headers=[],
        params=[],
        body=[{"name": "content", "type": "string", "required": True}],
    )

    outputs = start_outputs(
        node, {"method": "POST", "headers": {}, "query": {}, "body": {"raw": "hi"}}
    )

    # The webhook route parses a text body into {"raw": text}: that is the field it requires.
    assert imported(node).trigger.webhook.body == [  # type: ignore[union-attr]
        WebhookParameter(name="raw", type="string", required=True)
    ]
    assert outputs["content"] == "hi"
    with pytest.raises(NodeError, match=r"^Required body content missing for text/plain request$"):
        start_outputs(node, {"method": "POST", "headers": {}, "query": {}, "body": {}})


def test_webhook_defaults_are_difys() -> None:
    node = dify_node("hook", "trigger-webhook", "Bare")

    assert imported(node).trigger == Trigger(
        type=TriggerType.WEBHOOK, webhook=WebhookSpec(method="GET")
    )
    outputs = start_outputs(node, {"method": "GET", "headers": {}, "query": {"a": "1"}, "body": {}})
    assert outputs["_webhook_raw"]["query_params"] == {"a": "1"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {"method": "connect"},
            "method: 'connect' must be one of delete, get, head, patch, post, put",
        ),
        (
            {"content_type": "application/xml"},
            "content_type: 'application/xml' must be one of application/json, "
            "application/x-www-form-urlencoded, text/plain, multipart/form-data, "
            "application/octet-stream",
        ),
        (
            {"params": [{"name": "filter", "type": "object", "required": False}]},
            "params[0].type: 'object' is not one of boolean, number, string",
        ),
        (
            {"body": [{"name": "doc", "type": "file", "required": False}]},
            "body[0].type: 'file' is not one of array[boolean], array[number], array[object], "
            "array[string], boolean, number, object, string",
        ),
        (
            {"params": [{"name": "", "type": "string"}]},
            "params[0].name: a name of 1-256 characters is required",
        ),
        (
            {"params": [{"name": "X_Request_Id", "type": "string"}]},
            "params[0].name: 'X_Request_Id' is output as 'X_Request_Id', like headers[0] "
            "('X-Request-Id'); each header, query parameter and body field needs its own name",
        ),
        (
            {"params": [{"name": "_webhook_raw", "type": "string"}]},
            "params[0].name: '_webhook_raw' is output as '_webhook_raw', like the raw request; "
            "each header, query parameter and body field needs its own name",
        ),
        (
            {"content_type": "multipart/form-data"},
            "body: fields of a multipart/form-data body are not supported here (a webhook "
            "takes no uploads); declare a application/json, application/x-www-form-urlencoded "
            "or text/plain body",
        ),
    ],
)
def test_invalid_webhooks_are_refused_naming_the_node_and_field(
    change: dict[str, Any], reason: str
) -> None:
    assert refusal(webhook(**change)) == [f"node 'hook' (Orders): {reason}"]


@pytest.mark.usefixtures("deploy_env")
def test_an_imported_webhook_workflow_saves_with_selectors_on_its_outputs() -> None:
    draft = imported(
        webhook(), ["hook", "X_Request_Id"], ["hook", "amount"], ["hook", "_webhook_raw"]
    )

    definition = build_definition(draft.graph, draft.entry, draft.problems)

    assert definition["StartAt"]
