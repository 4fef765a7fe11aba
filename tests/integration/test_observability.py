"""Observability of the real functions: the metrics a run emits through the real engine
(moto, in-process), the X-Ray tracing of compiled state machines, and the traces the
handlers write when they run as in Lambda (real X-Ray SDK, a UDP socket standing in for
the X-Ray daemon that Lambda runs next to each function).
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.core import engine
from functions.core.aws_clients import client
from functions.core.settings import get_settings
from functions.nodes.catalog import NODES, RUNS_HANDLER, SANDBOX_HANDLER
from local import aws
from tests.integration.conftest import Api

REPO_ROOT = Path(__file__).resolve().parents[2]
TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793"
LAMBDA_PARENT = "53995c3f42cd8ad8"
# Every handler that runs in a Lambda of its own with a Python entry point (the stream
# function runs uvicorn behind the Web Adapter instead; see functions/core/observability).
TRACED_HANDLERS = sorted(
    {
        "functions.api.handler.handler",
        "functions.authorizer.handler.handler",
        "functions.dispatcher.handler.handler",
        "functions.retention.handler.handler",
        RUNS_HANDLER,
        *(spec.handler for spec in NODES.values()),
    }
)


def _emf(out: str) -> list[dict[str, Any]]:
    """The EMF documents among the captured stdout lines."""
    documents = []
    for line in out.splitlines():
        if line.startswith('{"_aws"'):
            documents.append(json.loads(line))
    return documents


def _values(documents: list[dict[str, Any]], metric: str, **dimensions: str) -> list[float]:
    return [
        value
        for document in documents
        if metric in document and all(document.get(k) == v for k, v in dimensions.items())
        for value in document[metric]
    ]


def test_a_run_emits_run_and_node_metrics(
    api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    workflow = api.create(
        {
            "name": "metrics",
            "nodes": [
                {"id": "fetch", "type": "tool-call", "config": {"tool": "echo"}},
                {"id": "analyze", "type": "ai-generate", "config": {"prompt": "say hello"}},
            ],
            "edges": [{"from": "fetch", "to": "analyze"}],
        }
    )
    run = api.run_to_end(workflow["id"])
    assert run["status"] == "completed", run

    documents = _emf(capsys.readouterr().out)
    run_dimensions = {"workflow": workflow["id"], "trigger": "api"}
    assert _values(documents, "RunsStarted", **run_dimensions) == [1.0]
    assert _values(documents, "RunsSucceeded", **run_dimensions) == [1.0]
    assert _values(documents, "RunsFailed") == []
    for node_type in ("tool", "llm"):
        (duration,) = _values(documents, "NodeDuration", nodeType=node_type)
        assert duration >= 0
    # The local model counts words as tokens: some, never none.
    (tokens,) = _values(documents, "ModelTokens", nodeType="llm")
    assert tokens > 0
    assert _values(documents, "NodeErrors") == []


def test_a_failing_node_counts_an_error_and_a_failed_run(
    api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    workflow = api.create(
        {
            "name": "fails",
            "nodes": [
                {
                    "id": "bad",
                    "type": "http-request",
                    # Refused by the HTTP node's guard: a failure without any network.
                    "config": {"url": "http://169.254.169.254/latest/meta-data"},
                }
            ],
            "edges": [],
        }
    )
    run = api.run_to_end(workflow["id"])
    assert run["status"] == "failed", run

    documents = _emf(capsys.readouterr().out)
    assert _values(documents, "RunsFailed", workflow=workflow["id"], trigger="api") == [1.0]
    assert _values(documents, "RunsSucceeded") == []
    errors = _values(documents, "NodeErrors", nodeType="http-request")
    assert errors and set(errors) == {1.0}


def test_locally_metrics_are_off(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    workflow = api.create(
        {"name": "quiet", "nodes": [{"id": "a", "type": "tool-call", "config": {"tool": "echo"}}]}
    )
    assert api.run_to_end(workflow["id"])["status"] == "completed"
    assert _emf(capsys.readouterr().out) == []


# -- Step Functions tracing ------------------------------------------------------------


@pytest.fixture
def moto_world() -> Iterator[None]:
    world = aws.start()
    yield
    world.stop()


def _tracing_of(machine_arn: str) -> dict[str, Any]:
    described = client("stepfunctions").describe_state_machine(stateMachineArn=machine_arn)
    tracing: dict[str, Any] = described["tracingConfiguration"]
    return tracing


PASS_MACHINE = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}


@pytest.mark.usefixtures("moto_world")
def test_compiled_state_machines_trace_when_the_deployment_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STATE_MACHINE_TRACING", "true")
    get_settings.cache_clear()
    arn, _ = engine.deploy("wf-traced", PASS_MACHINE, publish=True, exists=False)
    assert _tracing_of(arn) == {"enabled": True}

    # An update carries the setting too, so a machine made before it follows it.
    monkeypatch.setenv("STATE_MACHINE_TRACING", "false")
    get_settings.cache_clear()
    engine.deploy("wf-traced", PASS_MACHINE, publish=False, exists=True)
    assert _tracing_of(arn) == {"enabled": False}
    get_settings.cache_clear()


@pytest.mark.usefixtures("moto_world")
def test_locally_state_machines_are_not_traced() -> None:
    arn, _ = engine.deploy("wf-local", PASS_MACHINE, publish=False, exists=False)
    assert _tracing_of(arn) == {"enabled": False}


# -- handler traces, as in Lambda ------------------------------------------------------


class _Daemon:
    """Receives what the X-Ray SDK sends the daemon: a header line, then one document."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(1)
        self.address = f"127.0.0.1:{self.socket.getsockname()[1]}"

    def documents(self) -> list[dict[str, Any]]:
        found = []
        while True:
            try:
                data, _ = self.socket.recvfrom(65535)
            except TimeoutError:
                return found
            found.append(json.loads(data.decode().split("\n", 1)[1]))


class _Service(http.server.BaseHTTPRequestHandler):
    """Answers any request as DynamoDB answers ListTables."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = b'{"TableNames": []}'
        self.send_response(200)
        self.send_header("content-type", "application/x-amz-json-1.0")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def service() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Service)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _run_as_lambda(script: str, daemon: _Daemon) -> str:
    """Run `script` with the environment Lambda gives a traced function."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LAMBDA_TASK_ROOT": str(REPO_ROOT),
        "AWS_LAMBDA_FUNCTION_NAME": "probe",
        "POWERTOOLS_SERVICE_NAME": "stepcanvas-probe",
        "_X_AMZN_TRACE_ID": f"Root={TRACE_ID};Parent={LAMBDA_PARENT};Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": daemon.address,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


CONTEXT = (
    "import types\n"
    "context = types.SimpleNamespace(function_name='probe', memory_limit_in_mb=128,"
    " invoked_function_arn='arn:aws:lambda:us-east-1:123456789012:function:probe',"
    " aws_request_id='request-1')\n"
)


def test_a_traced_handler_records_aws_and_http_calls_under_its_run_and_node(
    service: str,
) -> None:
    daemon = _Daemon()
    script = CONTEXT + (
        "import urllib.request\n"
        "from functions.core.aws_clients import client\n"
        "from functions.core.observability import traced\n"
        "@traced\n"
        "def handler(event, context):\n"
        "    client('dynamodb').list_tables()\n"
        f"    urllib.request.urlopen('{service}/model').read()\n"
        "    return {'secret': 'never in a trace'}\n"
        "event = {'run': {'runId': 'r-1', 'workflowId': 'wf-1'},"
        " 'node': {'id': 'n1', 'type': 'llm'}}\n"
        "print(handler(event, context))\n"
    )
    # The shared client must reach the stand-in service, as boto3 reaches AWS.
    script = script.replace(
        "from functions.core.aws_clients import client\n",
        "import os\n"
        f"os.environ['AWS_ENDPOINT_URL_DYNAMODB'] = '{service}'\n"
        "from functions.core.aws_clients import client\n",
    )
    assert "never in a trace" in _run_as_lambda(script, daemon)

    documents = daemon.documents()
    assert all(d["trace_id"] == TRACE_ID for d in documents)
    (root,) = [d for d in documents if d["name"] == "## handler"]
    # Under the segment Lambda made for the invocation, annotated for searching.
    assert root["parent_id"] == LAMBDA_PARENT
    assert (
        root["annotations"].items()
        >= {
            "run_id": "r-1",
            "workflow_id": "wf-1",
            "node_id": "n1",
            "node_type": "llm",
            "Service": "stepcanvas-probe",
        }.items()
    )
    assert "never in a trace" not in json.dumps(documents)
    children = [d for d in documents if d.get("parent_id") == root["id"]]
    aws_calls = [d for d in children if d.get("namespace") == "aws"]
    assert [(d["name"], d["aws"]["operation"]) for d in aws_calls] == [("dynamodb", "ListTables")]
    http_calls = [d for d in children if d.get("namespace") == "remote"]
    assert http_calls and all(d["http"]["request"]["url"].endswith("/model") for d in http_calls)


def test_every_handler_but_the_sandbox_is_traced_in_lambda() -> None:
    daemon = _Daemon()
    handlers = [*TRACED_HANDLERS, SANDBOX_HANDLER]
    # Each handler gets an event it refuses (nothing of AWS is reached), naming it in the
    # trace through the node annotation.
    script = CONTEXT + (
        "import importlib\n"
        f"for path in {handlers!r}:\n"
        "    module = importlib.import_module(path.rsplit('.', 1)[0])\n"
        "    try:\n"
        "        module.handler({'node': {'id': path, 'type': 'probe'}}, context)\n"
        "    except Exception:\n"
        "        pass\n"
    )
    _run_as_lambda(script, daemon)

    traced = {
        d["annotations"]["node_id"]
        for d in daemon.documents()
        if d["name"] == "## handler" and "node_id" in d.get("annotations", {})
    }
    assert traced == set(TRACED_HANDLERS)
