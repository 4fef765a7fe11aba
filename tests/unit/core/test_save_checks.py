"""Save-time checks of node configs that used to pass the save and fail only at run:
http-request URLs and header names, v1 tool names, and the v1 body's `enabled`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from functions.api import bodies
from functions.core.errors import Problem, Refused
from functions.core.model.dify_format import import_document
from functions.core.model.v1_format import V1WorkflowBody, V1WorkflowPatch
from functions.core.services import definitions
from tests.unit.core.test_validation import build, edge, node, only, problems
from tests.unit.dify.support import END, START, dify_edge, dify_node, dsl

pytestmark = pytest.mark.usefixtures("deploy_env")

TOOL_ARN = "arn:aws:lambda:us-east-1:123456789012:function:"
BUILT_IN = "current_time, json_path, s3_read, echo, json_parse"


def one_node(kind: str, **config: Any) -> Problem:
    """The one problem of a workflow `first -> n`, where `n` is a `kind` node."""
    return only(problems([node("first"), node("n", kind, **config)], [edge("first", "n")]))


def saves(kind: str, **config: Any) -> None:
    build([node("first"), node("n", kind, **config)], [edge("first", "n")])


# --- tool-call ---------------------------------------------------------------------------


def test_the_spec_examples_unknown_tool_is_refused_listing_the_built_in_ones() -> None:
    found = one_node("tool-call", tool="iot_get_all_devices", input={})

    assert found.where == "node 'n'"
    assert found.reason == (
        "config.tool: unknown tool 'iot_get_all_devices'; built-in tools are: "
        f"{BUILT_IN} (or the ARN of a Lambda function named 'stepcanvas-tool-*')"
    )


@pytest.mark.parametrize(
    "tool",
    [
        f"{TOOL_ARN}billing-admin",
        f"{TOOL_ARN}stepcanvas-tool-",
        f"{TOOL_ARN}stepcanvas-tool-x/../admin",
        "arn:aws:lambda:us-east-1:123456789012:function:Stepcanvas-tool-x",
    ],
)
def test_a_lambda_arn_outside_the_tool_functions_is_refused(tool: str) -> None:
    found = one_node("tool-call", tool=tool)

    assert found.where == "node 'n'"
    assert found.reason == (
        f"config.tool: Lambda tool '{tool}' is not allowed: tool functions must be named "
        "'stepcanvas-tool-*'"
    )


@pytest.mark.parametrize(
    "tool",
    [
        "echo",
        "current_time",
        "json_path",
        "json_parse",
        "s3_read",
        f"{TOOL_ARN}stepcanvas-tool-iot_get_all_devices",
        f"{TOOL_ARN}stepcanvas-tool-shout:live",
        "arn:aws-cn:lambda:cn-north-1:123456789012:function:stepcanvas-tool-x",
    ],
)
def test_built_in_tools_and_tool_functions_are_accepted(tool: str) -> None:
    saves("tool-call", tool=tool)


def test_every_unknown_tool_is_reported_with_the_other_problems() -> None:
    found = problems(
        [node("a", "tool-call", tool="nope"), node("b", "tool-call", tool="{{a.result}}")],
        [edge("a", "b"), edge("b", "ghost")],
    )

    assert [p.where for p in found] == ["edge b->ghost", "node 'a'", "node 'b'"]
    assert "unknown tool 'nope'" in found[1].reason
    # The tool's name is never rendered, so a template names no tool either.
    assert "unknown tool '{{a.result}}'" in found[2].reason


def test_dify_provider_tools_are_left_to_the_run() -> None:
    tool = dify_node(
        "1713",
        "tool",
        provider_id="google",
        provider_type="builtin",
        provider_name="google",
        tool_name="google_search",
        tool_label="GoogleSearch",
        tool_parameters={"query": {"type": "mixed", "value": "{{#1711.query#}}"}},
        tool_configurations={},
    )
    draft = import_document(
        dsl([START, tool, END], [dify_edge("1711", "1713"), dify_edge("1713", "1712")])
    )

    assert definitions.problems(draft.graph, draft.entry, draft.problems) == []


# --- http-request: the URL ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("not a url", ""),
        ("not a url {{trigger.data.path}}", ""),
        ("ftp{{trigger.data.rest}}", ""),
        ("ftp://{{trigger.data.host}}/", "; scheme 'ftp' is not allowed"),
        ("file:///etc/passwd", "; scheme 'file' is not allowed"),
        ("javascript:alert(1)", "; scheme 'javascript' is not allowed"),
        ("https://", "; it has no host"),
        ("https://exa mple.com/", "; 'exa mple.com' is not a host name"),
        ("https://a..b/x", "; 'a..b' is not a host name"),
        ("https://exa mple.{{trigger.data.tld}}/", "; 'exa mple.' cannot begin a host"),
        ("https://example.com:99999/", "; Port out of range 0-65535"),
        (
            "https://user:pw@example.com/",
            "; credentials in the URL are not supported, send an Authorization header",
        ),
        (
            "https://user@{{trigger.data.host}}/",
            "; credentials in the URL are not supported, send an Authorization header",
        ),
    ],
)
def test_a_url_that_cannot_be_fetched_is_refused_naming_node_and_field(
    url: str, detail: str
) -> None:
    found = one_node("http-request", url=url)

    assert found.where == "node 'n'"
    assert found.reason == (
        f"config.url: Value error, url must be an http:// or https:// URL with a host{detail}"
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com",
        " https://example.com/a b?c d ",
        "HTTP://EXAMPLE.COM:8080/x",
        "https://例子.测试/",
        "http://[2001:db8::1]:8443/",
        "{{url}}",
        "{{trigger.data.url}}",
        "{{#trigger.data.url#}}",
        "{{trigger.data.base}}/devices",
        "https://{{host}}/x",
        "https://{{trigger.data.host}}/x",
        "https://api.{{trigger.data.region}}.example.com/x",
        "https://example.com:{{trigger.data.port}}/",
        "http{{trigger.data.s}}://example.com/",
        "https://{{trigger.data.user}}@example.com/",
    ],
)
def test_a_url_whose_literal_parts_can_be_fetched_is_accepted(url: str) -> None:
    saves("http-request", url=url)


# --- http-request: header names ----------------------------------------------------------

TOKEN_RULE = (
    "is not an HTTP field name (RFC 9110 token: letters, digits and !#$%&'*+-.^_`|~; "
    "no spaces or other characters)"
)


@pytest.mark.parametrize("name", ["X Bad", "X:Colon", "", "Naïve", "X(1)", "X-Tab\t"])
def test_a_v1_header_name_that_is_no_token_is_refused(name: str) -> None:
    found = one_node("http-request", url="https://example.com", headers={name: "1"})

    assert found.where == "node 'n'"
    assert found.reason == f"config.headers: Value error, header name '{name}' {TOKEN_RULE}"


def test_v1_header_names_are_never_templates() -> None:
    # The node sends a v1 header's name as written, so a template there is a bad name.
    found = one_node("http-request", url="https://example.com", headers={"{{a.b}}": "1"})

    assert "header name '{{a.b}}'" in found.reason


@pytest.mark.parametrize(
    ("lines", "name"),
    [
        ("Accept: */*\nX Bad: 1", "X Bad"),
        ("X Bad", "X Bad"),
        ("X Bad: {{#trigger.data.v#}}", "X Bad"),
        ("X Y{{#trigger.data.n#}}: 1", "X Y"),
        (": value", ""),
    ],
)
def test_a_literal_dify_header_name_that_is_no_token_is_refused(lines: str, name: str) -> None:
    found = one_node(
        "http-request", url="https://example.com", headers=lines, authorization={"type": "no-auth"}
    )

    assert found.where == "node 'n'"
    assert found.reason == f"config.headers: Value error, header name '{name}' {TOKEN_RULE}"


def test_templated_dify_header_names_are_left_to_the_run() -> None:
    saves(
        "http-request",
        url="https://example.com",
        headers=(
            "{{#trigger.data.headers#}}\nX-{{#trigger.data.n#}}: 1\n"
            "{{#trigger.data.name#}}: 2\nAccept: */*\nX-Empty"
        ),
        authorization={"type": "no-auth"},
    )


def test_a_custom_api_key_header_name_that_is_no_token_is_refused() -> None:
    found = one_node(
        "http-request",
        url="https://example.com",
        headers="",
        authorization={
            "type": "api-key",
            "config": {"type": "custom", "api_key": "k", "header": "X Api Key"},
        },
    )

    assert found.reason == (
        f"config.authorization.config.header: Value error, header name 'X Api Key' {TOKEN_RULE}"
    )


# --- the v1 body: enabled ----------------------------------------------------------------


@pytest.mark.parametrize("value", ["yes", "true", 1, 0, None, "false"])
@pytest.mark.parametrize("model", [V1WorkflowBody, V1WorkflowPatch])
def test_enabled_must_be_a_json_boolean(
    model: type[V1WorkflowBody | V1WorkflowPatch], value: Any
) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate({"name": "w", "enabled": value})
    assert [error["loc"] for error in caught.value.errors()] == [("enabled",)]

    sent = json.dumps({"name": "w", "enabled": value}).encode()
    body = bodies.Body("application/json", sent)
    with pytest.raises(Refused, match=r"^body\.enabled: ") as refused:
        bodies.parse(model, body)
    assert refused.value.code == "invalid_param"


@pytest.mark.parametrize("value", [True, False])
def test_enabled_takes_true_and_false(value: bool) -> None:
    assert V1WorkflowBody.model_validate({"name": "w", "enabled": value}).enabled is value
    assert V1WorkflowPatch.model_validate({"enabled": value}).enabled is value
