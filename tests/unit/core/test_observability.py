"""The metric helpers write EMF documents CloudWatch can read, with the names and
dimensions the dashboard and alarms use; tracing costs nothing where it is off.

Output is captured the way Powertools documents for testing metrics: each flush is one
JSON line on stdout (capsys).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from functions.core import observability

NAMESPACE = "StepcanvasTest"
REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def metrics_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    # Every function has a service name; it must not become a dimension.
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "stepcanvas-api")


def _documents(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


def _metrics(document: dict[str, Any]) -> dict[str, str]:
    """Metric name -> unit of one EMF document (values are lists: EMF allows many)."""
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    return {metric["Name"]: metric["Unit"] for metric in directive["Metrics"]}


def _dimensions(document: dict[str, Any]) -> dict[str, Any]:
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    (names,) = directive["Dimensions"]
    return {name: document[name] for name in names}


def test_a_run_start_counts_once_by_workflow_and_trigger(
    capsys: pytest.CaptureFixture[str],
) -> None:
    observability.run_started("wf-1", "schedule")
    (document,) = _documents(capsys)
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == NAMESPACE
    assert _metrics(document) == {"RunsStarted": "Count"}
    assert document["RunsStarted"] == [1.0]
    assert _dimensions(document) == {"workflow": "wf-1", "trigger": "schedule"}


@pytest.mark.parametrize(
    ("status", "metric"),
    [
        ("succeeded", "RunsSucceeded"),
        ("partial-succeeded", "RunsSucceeded"),
        ("failed", "RunsFailed"),
    ],
)
def test_a_finished_run_counts_as_succeeded_or_failed(
    capsys: pytest.CaptureFixture[str], status: str, metric: str
) -> None:
    observability.run_finished("wf-1", "api", status)
    (document,) = _documents(capsys)
    assert _metrics(document) == {metric: "Count"}
    assert _dimensions(document) == {"workflow": "wf-1", "trigger": "api"}


def test_a_stopped_run_counts_in_neither(capsys: pytest.CaptureFixture[str]) -> None:
    observability.run_finished("wf-1", "api", "stopped")
    assert _documents(capsys) == []


def test_a_finished_node_gives_its_duration_and_model_tokens_by_node_type(
    capsys: pytest.CaptureFixture[str],
) -> None:
    observability.node_finished("llm", 1234, tokens=56)
    (document,) = _documents(capsys)
    assert _metrics(document) == {"NodeDuration": "Milliseconds", "ModelTokens": "Count"}
    assert (document["NodeDuration"], document["ModelTokens"]) == ([1234.0], [56.0])
    assert _dimensions(document) == {"nodeType": "llm"}


def test_a_node_without_a_model_reports_no_tokens(capsys: pytest.CaptureFixture[str]) -> None:
    observability.node_finished("template-transform", 3, tokens=None)
    (document,) = _documents(capsys)
    assert _metrics(document) == {"NodeDuration": "Milliseconds"}


def test_a_failed_node_counts_an_error_and_its_duration(
    capsys: pytest.CaptureFixture[str],
) -> None:
    observability.node_failed("http-request", 40)
    (document,) = _documents(capsys)
    assert _metrics(document) == {"NodeErrors": "Count", "NodeDuration": "Milliseconds"}
    assert (document["NodeErrors"], document["NodeDuration"]) == ([1.0], [40.0])
    assert _dimensions(document) == {"nodeType": "http-request"}


def test_metrics_disabled_print_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    observability.run_started("wf-1", "api")
    observability.node_failed("llm", 1)
    assert capsys.readouterr().out == ""


def test_without_a_namespace_the_stepcanvas_one_is_used(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE")
    observability.run_started("wf-1", "api")
    (document,) = _documents(capsys)
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Stepcanvas"


def test_a_metric_that_cannot_be_written_never_fails_the_caller(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, "stdout", closed)
    observability.run_started("wf-1", "api")
    assert "metrics not emitted: ['RunsStarted']" in caplog.text


# -- tracing ---------------------------------------------------------------------------


def _handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    return event


@pytest.mark.parametrize(
    "env",
    [
        {},  # not in Lambda: Powertools would not trace either
        {"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"},
        {"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"},
    ],
)
def test_where_tracing_is_off_the_handler_is_returned_unwrapped(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for name in ("LAMBDA_TASK_ROOT", "POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert not observability.tracing_enabled()
    assert observability.traced(_handler) is _handler


def test_in_lambda_tracing_is_on_unless_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    monkeypatch.delenv("AWS_SAM_LOCAL", raising=False)
    monkeypatch.delenv("AWS_CHALICE_CLI_MODE", raising=False)
    assert observability.tracing_enabled()


def test_importing_traced_handlers_never_imports_the_xray_sdk() -> None:
    # A fresh interpreter (this one may have imported it for another test), outside Lambda.
    modules = "functions.nodes.if_else.handler, functions.runs.handler, functions.api.handler"
    found = subprocess.run(
        [sys.executable, "-c", f"import sys, {modules}; print('aws_xray_sdk' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        env={"PATH": "", "POWERTOOLS_TRACE_DISABLED": "false"},
    )
    assert found.stdout.strip() == "False"


def test_task_events_annotate_the_trace_with_their_run_and_node() -> None:
    event = {
        "run": {"runId": "r-1", "workflowId": "wf-1", "tenantId": "t"},
        "node": {"id": "n1", "type": "llm", "config": "{}"},
    }
    assert observability.trace_annotations(event) == {
        "run_id": "r-1",
        "workflow_id": "wf-1",
        "node_id": "n1",
        "node_type": "llm",
    }
    # An API Gateway or SQS event has neither; a runs event has no node.
    assert observability.trace_annotations({"httpMethod": "GET", "node": "x"}) == {}
    assert observability.trace_annotations({"run": {"runId": "r-2"}}) == {"run_id": "r-2"}
    assert observability.trace_annotations(["not", "a", "mapping"]) == {}
