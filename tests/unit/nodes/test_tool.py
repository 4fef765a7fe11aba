from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from functions.core import clock
from functions.core.errors import NodeError
from functions.nodes.tool import handler
from functions.nodes.tool.entities import ToolConfig
from functions.nodes.tool.node import run
from local import aws
from tests.unit.nodes.support import LAMBDA_CONTEXT, context, task_event

TOOL_ARN = "arn:aws:lambda:us-east-1:123456789012:function:stepcanvas-tool-{name}"


def _run(tool: str, **tool_input: Any) -> Any:
    return run(ToolConfig(tool=tool, input=tool_input), context("tool")).outputs["result"]


def test_echo_returns_its_resolved_input() -> None:
    result = run(
        ToolConfig(
            tool="echo",
            input={"devices": "{{fetch.result.devices}}", "note": "at {{trigger.data.building}}"},
        ),
        context("tool"),
    )

    expected = {"devices": [{"id": "d1", "temp": 31}, {"id": "d2", "temp": 12}], "note": "at A栋"}
    assert result.outputs == {"result": expected}
    assert result.inputs == {"tool": "echo", "input": expected}


def test_unknown_tool_lists_the_built_in_ones() -> None:
    with pytest.raises(NodeError) as caught:
        _run("iot_get_all_devices")

    assert str(caught.value).startswith(
        "unknown tool 'iot_get_all_devices'; built-in tools are: "
        "current_time, json_path, s3_read, echo"
    )
    assert caught.value.error_type == "UnknownTool"


def test_save_refuses_what_the_run_would_not_find() -> None:
    # The model accepts any name (a version saved before the check still runs and fails
    # as it did); saving asks `save_problems`, which says what the run would say.
    unknown = ToolConfig(tool="iot_get_all_devices")
    with pytest.raises(NodeError) as caught:
        run(unknown, context("tool"))

    assert unknown.save_problems() == [("tool", str(caught.value))]
    arn = "arn:aws:lambda:us-east-1:123456789012:function:billing-admin"
    assert ToolConfig(tool=arn).save_problems() == [
        (
            "tool",
            f"Lambda tool '{arn}' is not allowed: tool functions must be named 'stepcanvas-tool-*'",
        )
    ]
    for allowed in ("echo", "json_parse", TOOL_ARN.format(name="shout")):
        assert ToolConfig(tool=allowed).save_problems() == []
    # Dify's provider tools are looked up when they run, as in Dify.
    assert ToolConfig(tool_name="google_search", provider_id="google").save_problems() == []


def test_current_time_in_a_zone_and_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: datetime(2024, 5, 1, 9, 30, 15, 500, tzinfo=UTC))

    assert _run("current_time") == "2024-05-01T09:30:15+00:00"
    assert _run("current_time", timezone="Asia/Shanghai") == "2024-05-01T17:30:15+08:00"
    assert _run("current_time", timezone="Asia/Shanghai", format="%Y-%m-%d %H:%M") == (
        "2024-05-01 17:30"
    )
    with pytest.raises(NodeError, match="unknown timezone 'Mars/Olympus'"):
        _run("current_time", timezone="Mars/Olympus")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.devices[1].temp", 12),
        ("$.devices[-1].id", "d2"),
        ("$['site']", "A"),
        ('$["devices"][0]["id"]', "d1"),
        ("devices.0.id", "d1"),
        ("$", {"devices": [{"id": "d1", "temp": 31}, {"id": "d2", "temp": 12}], "site": "A"}),
        ("$.devices[5].id", None),
        ("$.site.deeper", None),
    ],
)
def test_json_path_reads_a_value(path: str, expected: Any) -> None:
    assert _run("json_path", data="{{fetch.result}}", path=path) == expected


def test_json_path_parses_json_text_and_rejects_bad_paths() -> None:
    assert _run("json_path", data='{"a": {"b": [7]}}', path="$.a.b[0]") == 7
    with pytest.raises(NodeError, match=r"invalid path '\$\.a\[\?\(@\.x\)\]' near"):
        _run("json_path", data={"a": []}, path="$.a[?(@.x)]")
    with pytest.raises(NodeError, match=re.escape("input.data is text that is not JSON")):
        _run("json_path", data="not json", path="$.a")
    with pytest.raises(NodeError, match=re.escape("input.path is required")):
        _run("json_path", data={})


def _put(key: str, body: str) -> None:
    boto3.client("s3").put_object(Bucket="stepcanvas-data", Key=key, Body=body.encode())


def test_s3_read_reads_the_tenants_own_objects(local_aws: aws.LocalAws) -> None:
    _put("tenants/tenant-a/reports/daily.json", '{"ok": true}')
    _put("tenants/tenant-a/notes.txt", "巡检 ok")

    assert _run("s3_read", key="reports/daily.json") == {"ok": True}
    assert _run("s3_read", key="tenants/tenant-a/notes.txt") == "巡检 ok"
    assert _run("s3_read", key="/notes.txt", bucket="stepcanvas-data") == "巡检 ok"


def test_s3_read_stays_inside_the_tenant_and_the_data_bucket(local_aws: aws.LocalAws) -> None:
    _put("tenants/tenant-b/secret.txt", "not yours")
    _put("runs/other-run/outputs/node.json", "{}")

    with pytest.raises(NodeError, match=re.escape("no object 'tenants/tenant-b/secret.txt'")):
        _run("s3_read", key="tenants/tenant-b/secret.txt")
    with pytest.raises(NodeError, match=re.escape("no object 'runs/other-run/outputs/node.json'")):
        _run("s3_read", key="runs/other-run/outputs/node.json")
    with pytest.raises(NodeError, match="reads only the data bucket 'stepcanvas-data'"):
        _run("s3_read", bucket="someone-elses-bucket", key="x.txt")
    with pytest.raises(NodeError, match=re.escape("input.key must be a string")):
        _run("s3_read", key=["x"])


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README", "runs in-process")
    return buffer.getvalue()


@pytest.fixture
def tool_functions(local_aws: aws.LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    """`stepcanvas-tool-shout` and `-explode` in moto, run in-process by local/aws.py."""
    lambdas = boto3.client("lambda")
    for name in ("shout", "explode"):
        lambdas.create_function(
            FunctionName=f"stepcanvas-tool-{name}",
            Runtime="python3.12",
            Role="arn:aws:iam::123456789012:role/stepcanvas-lambda",
            Handler=f"tests.unit.nodes.tool_functions.{name}",
            Code={"ZipFile": _zip()},
        )
        monkeypatch.setitem(
            aws._HANDLERS, f"stepcanvas-tool-{name}", f"tests.unit.nodes.tool_functions.{name}"
        )


@pytest.mark.usefixtures("tool_functions")
def test_a_registered_lambda_function_is_a_tool() -> None:
    result = _run(TOOL_ARN.format(name="shout"), text="{{fetch.result.site}} ok")

    assert result == {"shouted": "A OK", "received": {"text": "A ok"}}


@pytest.mark.usefixtures("tool_functions")
def test_a_failing_lambda_tool_is_a_tool_error() -> None:
    with pytest.raises(NodeError, match="failed: ValueError: cannot handle \\['a'\\]") as caught:
        _run(TOOL_ARN.format(name="explode"), a=1)

    assert caught.value.error_type == "ToolError"


def test_only_stepcanvas_tool_functions_may_be_invoked() -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:billing-admin"

    with pytest.raises(NodeError, match="tool functions must be named 'stepcanvas-tool-\\*'"):
        _run(arn)


def test_handler_runs_a_tool_and_returns_its_state(local_aws: aws.LocalAws) -> None:
    event = task_event("tool", {"tool": "echo", "input": {"site": "{{fetch.result.site}}"}})

    state = handler.handler(event, LAMBDA_CONTEXT)

    assert state == {"outputs": {"result": {"site": "A"}}}
