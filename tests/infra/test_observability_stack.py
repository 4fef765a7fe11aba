"""CDK assertions on observability: X-Ray tracing of every function but the sandbox and of
the compiled state machines, metrics written as EMF through each function's own log group,
every alarm notifying the alarm topic (email from `-c alarmEmail=`), and the dashboard.

Most assertions read the template tests/infra/test_stack.py synthesizes (its `synth`
fixture, without an alarm email); one more `python app.py` run passes the context value
the way `cdk deploy -c alarmEmail=…` does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from functions.core import observability as names
from functions.nodes.catalog import NODES, SANDBOX_HANDLER, Capability
from infra.lambda_function import METRICS_NAMESPACE
from infra.monitoring import ALARM_EMAIL_CONTEXT
from tests.infra import test_stack
from tests.infra.test_stack import (
    CLI_CONTEXT,
    REPO_ROOT,
    Synth,
    _as_list,
    _finish_synth,
    _ref,
    _start_synth,
    _statements,
)

pytestmark = pytest.mark.xdist_group("infra")

synths = test_stack.synths
synth = test_stack.synth

ALARM_EMAIL = "oncall@example.com"
XRAY_WRITE = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
API_HANDLER = "functions.api.handler.handler"
DISPATCHER_HANDLER = "functions.dispatcher.handler.handler"


@pytest.fixture(scope="module")
def emailed(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    project_context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    outdir: Path = tmp_path_factory.mktemp("cdk.out")
    context = {**project_context, **CLI_CONTEXT, ALARM_EMAIL_CONTEXT: ALARM_EMAIL}
    return _finish_synth("cdk synth -c alarmEmail", _start_synth(outdir, context), outdir)


def _our_functions(synth: Synth) -> dict[str, dict[str, Any]]:
    """Every function running the Stepcanvas asset (not CDK's own custom resources)."""
    return {
        logical_id: function["Properties"]
        for logical_id, function in synth.of_type("AWS::Lambda::Function").items()
        if function["Properties"]["Handler"].startswith("functions")
    }


def _role_actions(synth: Synth, role_id: str) -> set[str]:
    return {
        action
        for statement in _statements(synth, role_id)
        for action in _as_list(statement["Action"])
    }


def _topic_id(synth: Synth) -> str:
    (topic_id,) = synth.of_type("AWS::SNS::Topic")
    return topic_id


# -- tracing ---------------------------------------------------------------------------


def test_every_function_but_the_sandbox_traces_actively_and_may_write_xray(
    synth: Synth,
) -> None:
    functions = _our_functions(synth)
    # The asset's functions: every node type, runs, api, stream, authorizer, dispatcher,
    # retention and the sandbox.
    assert len(functions) == len(NODES) + 7
    for logical_id, function in functions.items():
        if function["Handler"] == SANDBOX_HANDLER:
            continue
        assert function.get("TracingConfig") == {"Mode": "Active"}, logical_id
        assert _role_actions(synth, _ref(function["Role"])) >= XRAY_WRITE, logical_id


def test_the_code_sandbox_is_neither_traced_nor_permitted_anything(synth: Synth) -> None:
    function = synth.resources[synth.function_id(SANDBOX_HANDLER)]["Properties"]
    assert "TracingConfig" not in function
    # Its own log group only: no X-Ray, no data.
    assert _role_actions(synth, synth.role_id(SANDBOX_HANDLER)) == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }


def test_the_state_machine_role_may_write_xray(synth: Synth) -> None:
    actions = _role_actions(synth, synth.state_machine_role_id())
    assert XRAY_WRITE | {"xray:GetSamplingRules", "xray:GetSamplingTargets"} <= actions


@pytest.mark.parametrize("handler", [API_HANDLER, DISPATCHER_HANDLER])
def test_functions_that_deploy_or_start_state_machines_turn_their_tracing_on(
    synth: Synth, handler: str
) -> None:
    variables = synth.resources[synth.function_id(handler)]["Properties"]["Environment"]
    assert variables["Variables"]["STATE_MACHINE_TRACING"] == "true"


def test_the_api_function_may_create_traced_state_machines_that_run_as_the_machine_role(
    synth: Synth,
) -> None:
    # CreateStateMachine with tracingConfiguration needs no permission of its own; the
    # machine's role writes the traces, and only that role may be passed.
    statements = _statements(synth, synth.role_id(API_HANDLER))
    actions = {a for s in statements for a in _as_list(s["Action"])}
    assert {"states:CreateStateMachine", "states:UpdateStateMachine"} <= actions
    (pass_role,) = [
        s
        for s in statements
        if s["Action"] == "iam:PassRole"
        and s["Condition"]["StringEquals"]["iam:PassedToService"] == "states.amazonaws.com"
    ]
    assert _ref(pass_role["Resource"]) == synth.state_machine_role_id()


# -- metrics ---------------------------------------------------------------------------


def test_metrics_go_out_as_emf_through_each_functions_own_log_group(synth: Synth) -> None:
    for logical_id, function in _our_functions(synth).items():
        variables = function["Environment"]["Variables"]
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == METRICS_NAMESPACE, logical_id
        assert variables["POWERTOOLS_SERVICE_NAME"].startswith("stepcanvas-"), logical_id
        # EMF is read from the log stream: writing it is the only metrics permission.
        statements = _statements(synth, _ref(function["Role"]))
        (log_write,) = [s for s in statements if "logs:PutLogEvents" in _as_list(s["Action"])]
        log_group = _ref(function["LoggingConfig"]["LogGroup"])
        assert _ref(log_write["Resource"]) == log_group, logical_id
    assert METRICS_NAMESPACE == names.NAMESPACE


def test_no_role_calls_put_metric_data(synth: Synth) -> None:
    granted = {
        action
        for policy in synth.of_type("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in _as_list(statement["Action"])
    }
    assert not {a for a in granted if a.startswith("cloudwatch:")}


# -- alarms ----------------------------------------------------------------------------


def test_every_alarm_notifies_the_alarm_topic_when_it_fires_and_when_it_clears(
    synth: Synth,
) -> None:
    topic = {"Ref": _topic_id(synth)}
    alarms = synth.of_type("AWS::CloudWatch::Alarm")
    assert len(alarms) >= 9
    for logical_id, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [topic], logical_id
        assert alarm["Properties"]["OKActions"] == [topic], logical_id


def test_the_alarm_topic_accepts_only_tls_publishers(synth: Synth) -> None:
    (policy,) = synth.of_type("AWS::SNS::TopicPolicy").values()
    assert policy["Properties"]["Topics"] == [{"Ref": _topic_id(synth)}]
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_failed_executions_alarm_on_every_runtime_created_state_machine(synth: Synth) -> None:
    (alarm,) = [
        a["Properties"]
        for a in synth.of_type("AWS::CloudWatch::Alarm").values()
        if "Metrics" in a["Properties"]
        and "ExecutionsFailed" in json.dumps(a["Properties"]["Metrics"])
    ]
    (query,) = alarm["Metrics"]
    # A Metrics Insights query (alarms may not SEARCH), over every machine by its ARN.
    assert query["Expression"] == (
        'SELECT SUM(ExecutionsFailed) FROM SCHEMA("AWS/States", StateMachineArn)'
    )
    assert query["Period"] == 300 and query["ReturnData"] is True
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"


def test_any_message_in_a_dead_letter_queue_raises_an_alarm(synth: Synth) -> None:
    # The trigger queue's redrive target, and where the retention stream parks failures.
    dead_letter_queues = {
        _ref(queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        for queue in synth.of_type("AWS::SQS::Queue").values()
        if "RedrivePolicy" in queue["Properties"]
    } | {
        _ref(mapping["Properties"]["DestinationConfig"]["OnFailure"]["Destination"])
        for mapping in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if "DestinationConfig" in mapping["Properties"]
    }
    watched = {
        _ref(dimension["Value"])
        for alarm in synth.of_type("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and alarm["Properties"]["Statistic"] == "Maximum"
        and alarm["Properties"]["Threshold"] == 1
        and alarm["Properties"]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        for dimension in alarm["Properties"]["Dimensions"]
    }
    assert len(dead_letter_queues) == 2
    assert dead_letter_queues == watched


def test_without_the_context_value_the_topic_has_no_subscriber(synth: Synth) -> None:
    assert synth.of_type("AWS::SNS::Subscription") == {}


def test_the_alarm_email_context_value_subscribes_that_address(emailed: Synth) -> None:
    (subscription,) = emailed.of_type("AWS::SNS::Subscription").values()
    assert subscription["Properties"] == {
        "Endpoint": ALARM_EMAIL,
        "Protocol": "email",
        "TopicArn": {"Ref": _topic_id(emailed)},
    }


def test_the_topic_and_the_dashboard_are_stack_outputs(synth: Synth) -> None:
    outputs = synth.template.to_json()["Outputs"]
    assert outputs["AlarmTopicArn"]["Value"] == {"Ref": _topic_id(synth)}
    (dashboard_id,) = synth.of_type("AWS::CloudWatch::Dashboard")
    assert outputs["DashboardName"]["Value"] == {"Ref": dashboard_id}


# -- the dashboard ---------------------------------------------------------------------


def _flatten(value: Any) -> str:
    """The dashboard body with each reference spelled `${logical id}`."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        return "".join(_flatten(part) for part in value["Fn::Join"][1])
    if "Ref" in value or "Fn::GetAtt" in value:
        return "${" + _ref(value) + "}"
    raise AssertionError(f"unexpected dashboard body part: {value}")


@pytest.fixture(scope="module")
def widgets(synth: Synth) -> dict[str, list[Any]]:
    """Title -> the metrics of each dashboard widget."""
    (dashboard,) = synth.of_type("AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == "Stepcanvas"
    body = json.loads(_flatten(dashboard["Properties"]["DashboardBody"]))
    return {w["properties"]["title"]: w["properties"]["metrics"] for w in body["widgets"]}


def _named(metrics: list[Any]) -> list[tuple[str, ...]]:
    """(namespace, metric, dimension name, dimension value, statistic) of plain metrics."""
    return [(*m[:4], m[4]["stat"]) for m in metrics if isinstance(m[0], str)]


def test_the_dashboard_sums_the_runs_over_every_workflow_and_trigger(
    widgets: dict[str, list[Any]],
) -> None:
    expressions = [m[0]["expression"] for m in widgets["Runs"]]
    assert expressions == [
        f"SUM(SEARCH('{{Stepcanvas,trigger,workflow}} MetricName=\"{name}\"', 'Sum', 300))"
        for name in (names.RUNS_STARTED, names.RUNS_SUCCEEDED, names.RUNS_FAILED)
    ]


@pytest.mark.parametrize(
    ("title", "metric", "stat"),
    [
        ("Node duration p50 (ms)", names.NODE_DURATION, "p50"),
        ("Node duration p95 (ms)", names.NODE_DURATION, "p95"),
        ("Node errors", names.NODE_ERRORS, "Sum"),
    ],
)
def test_the_dashboard_shows_every_node_type(
    widgets: dict[str, list[Any]], title: str, metric: str, stat: str
) -> None:
    assert _named(widgets[title]) == [
        ("Stepcanvas", metric, names.NODE_TYPE, node_type, stat)
        for node_type in sorted(t.value for t in NODES)
    ]


def test_the_dashboard_shows_the_tokens_of_every_node_that_calls_a_model(
    widgets: dict[str, list[Any]],
) -> None:
    model_nodes = sorted(
        spec.type.value for spec in NODES.values() if Capability.INVOKE_MODEL in spec.capabilities
    )
    assert model_nodes
    assert _named(widgets["Model tokens"]) == [
        ("Stepcanvas", names.MODEL_TOKENS, names.NODE_TYPE, node_type, "Sum")
        for node_type in model_nodes
    ]


def test_the_dashboard_shows_api_errors_and_latency(
    synth: Synth, widgets: dict[str, list[Any]]
) -> None:
    assert [m[:2] for m in _named(widgets["API errors"])] == [
        ("AWS/ApiGateway", "5XXError"),
        ("AWS/ApiGateway", "4XXError"),
    ]
    assert [(m[1], m[4]) for m in _named(widgets["API latency (ms)"])] == [
        ("Latency", "p50"),
        ("Latency", "p95"),
        ("Latency", "p99"),
    ]


@pytest.mark.parametrize(
    ("title", "metric"),
    [("Lambda errors", "Errors"), ("Lambda throttles", "Throttles")],
)
def test_the_dashboard_shows_errors_and_throttles_of_every_function(
    synth: Synth, widgets: dict[str, list[Any]], title: str, metric: str
) -> None:
    shown = {
        m[3] for m in _named(widgets[title]) if m[:3] == ("AWS/Lambda", metric, "FunctionName")
    }
    assert shown == {"${" + logical_id + "}" for logical_id in _our_functions(synth)}


def test_the_dashboard_shows_dead_letters_and_failed_executions(
    widgets: dict[str, list[Any]],
) -> None:
    assert {m[1] for m in _named(widgets["Dead-letter queue depth"])} == {
        "ApproximateNumberOfMessagesVisible"
    }
    assert len(widgets["Dead-letter queue depth"]) == 2
    (failed,) = widgets["Failed executions (Step Functions)"]
    assert "ExecutionsFailed" in failed[0]["expression"]
