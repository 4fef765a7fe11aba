"""Dify's llm, http-request and tool nodes (the v1 shapes are tested in tests/unit/nodes)."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from functions.core.errors import NodeError
from functions.nodes.http_request.entities import HttpRequestConfig
from functions.nodes.http_request.node import run as run_http
from functions.nodes.llm.entities import LlmConfig
from functions.nodes.llm.node import run as run_llm
from functions.nodes.tool.entities import ToolConfig
from functions.nodes.tool.node import run as run_tool
from tests.http_stub import stub_server
from tests.unit.dify.support import context
from tests.unit.nodes.support import configure

POOL = {
    "start": {"query": "What is A?", "topic": "pumps", "n": 2},
    "kb": {"result": [{"content": "Pumps move water."}, {"content": "A is a pump."}]},
    "api": {"body": '{"key": "value", "number": 42}', "status_code": 200},
}

# --- llm ---------------------------------------------------------------------------------


def llm(**config: Any) -> LlmConfig:
    base: dict[str, Any] = {
        "model": {"provider": "openai", "name": "gpt-4o", "mode": "chat", "completion_params": {}},
        "context": {"enabled": False, "variable_selector": []},
    }
    return LlmConfig.model_validate({**base, **config})


CHAT = llm(
    prompt_template=[
        {"role": "system", "text": "You know {{#start.topic#}}. Context: {{#context#}}"},
        {"role": "user", "text": "{{#start.query#}}"},
        {"role": "assistant", "text": "Answer briefly:"},
    ],
    context={"enabled": True, "variable_selector": ["kb", "result"]},
)


def test_a_chat_template_renders_system_context_and_turns() -> None:
    result = run_llm(CHAT, context(POOL))

    assert result.outputs == {
        "text": "[local:local] What is A?",
        "usage": {"prompt_tokens": 16, "completion_tokens": 4, "total_tokens": 20},
        "finish_reason": "stop",
    }
    assert result.inputs == {
        "prompt": "What is A?",
        "system": "You know pumps. Context: Pumps move water.\nA is a pump.",
        "messages": [
            {"role": "user", "text": "What is A?"},
            {"role": "assistant", "text": "Answer briefly:"},
        ],
        "model": "local",
        "provider": "local",
    }
    assert CHAT.references() == [("start", "topic"), ("start", "query"), ("kb", "result")]


def test_completion_mode_jinja2_and_disabled_context() -> None:
    config = llm(
        prompt_template={
            "edition_type": "jinja2",
            "text": "",
            "jinja2_text": "{% for i in range(n) %}{{ q }} {% endfor %}{{ '{{#context#}}' }}",
        },
        prompt_config={
            "jinja2_variables": [
                {"variable": "q", "value_selector": ["start", "topic"]},
                {"variable": "n", "value_selector": ["start", "n"]},
            ]
        },
    )

    result = run_llm(config, context(POOL))

    assert result.inputs["prompt"] == "pumps pumps {{#context#}}"
    assert ("start", "n") in config.references()


def test_a_literal_v1_style_brace_in_a_dify_prompt_is_text() -> None:
    config = llm(
        prompt_template=[{"role": "user", "text": "Fill {{ user.name }} for {{#start.topic#}}"}]
    )

    assert run_llm(config, context(POOL)).inputs["prompt"] == "Fill {{ user.name }} for pumps"
    assert config.references() == [("start", "topic")]


def test_a_broken_jinja_prompt_is_a_node_error() -> None:
    config = llm(prompt_template=[{"role": "user", "edition_type": "jinja2", "jinja2_text": "{{"}])

    with pytest.raises(NodeError, match="user prompt: template syntax error"):
        run_llm(config, context(POOL))


def test_dify_models_map_through_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    def model_of(provider: str, name: str) -> str:
        config = llm(
            model={"provider": provider, "name": name, "completion_params": {"temperature": 0.2}},
            prompt_template=[{"role": "user", "text": "hi"}],
        )
        return str(run_llm(config, context(POOL)).inputs["model"])

    configure(
        monkeypatch,
        DIFY_MODEL_MAP=json.dumps({"openai/gpt-4o": "house-large", "deepseek-chat": "house-ds"}),
    )
    assert model_of("langgenius/openai/openai", "gpt-4o") == "house-large"
    assert model_of("deepseek", "deepseek-chat") == "house-ds"
    # Unmapped: LLM_MODEL, else the provider's default (the local provider has one).
    assert model_of("tongyi", "qwen-max") == "local"
    configure(monkeypatch, LLM_MODEL="house-default")
    assert model_of("tongyi", "qwen-max") == "house-default"


def test_canned_local_replies(monkeypatch: pytest.MonkeyPatch) -> None:
    replies = {
        "pumps": "They move water.",
        "fail me": {"error": "model overloaded"},
        "slowly": {"text": "late", "delay_ms": 150},
    }
    configure(monkeypatch, LOCAL_LLM_REPLIES=json.dumps(replies))

    def ask(text: str) -> str:
        config = llm(prompt_template=[{"role": "user", "text": text}])
        return str(run_llm(config, context(POOL)).outputs["text"])

    assert ask("tell me about {{#start.topic#}}") == "They move water."
    assert ask("unmatched") == "[local:local] unmatched"
    began = time.monotonic()
    assert ask("answer slowly") == "late"
    assert time.monotonic() - began >= 0.15
    with pytest.raises(NodeError) as caught:
        ask("please fail me")
    assert str(caught.value) == "local model failed: model overloaded"
    assert caught.value.error_type == "ModelError"


@pytest.mark.parametrize(
    "config",
    [
        {"prompt": "p", "prompt_template": [{"role": "user", "text": "x"}]},
        {"model": {"provider": "openai", "name": "gpt-4o"}},
        {"prompt": "p", "model": {"provider": "openai", "name": "gpt-4o"}},
    ],
)
def test_llm_config_has_one_shape(config: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        LlmConfig.model_validate(config)


# --- http-request ------------------------------------------------------------------------


@pytest.fixture
def echo(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    configure(monkeypatch, HTTP_ALLOW_LIST="127.0.0.1")
    with stub_server() as base:
        yield base


def http(**config: Any) -> HttpRequestConfig:
    base = {"method": "get", "authorization": {"type": "no-auth"}, "headers": "", "params": ""}
    return HttpRequestConfig.model_validate({**base, **config})


def sent(config: HttpRequestConfig) -> dict[str, Any]:
    result = run_http(config, context(POOL))
    assert result.outputs["status_code"] == 200
    assert result.outputs["files"] == []
    assert "result" not in result.outputs
    echoed: dict[str, Any] = json.loads(result.outputs["body"])
    return echoed


def test_dify_headers_params_and_json_body(echo: str) -> None:
    config = http(
        method="post",
        url=echo + "/echo",
        headers="X-Topic: {{#start.topic#}}\nX-Empty\n\n X-Colon : a:b ",
        params="q:{{#start.query#}}\nn:{{#start.n#}}",
        body={
            "type": "json",
            "data": [{"key": "", "type": "text", "value": '{"n": {{#start.n#}}}'}],
        },
    )

    request = sent(config)

    assert request["method"] == "POST"
    assert request["path"] == "/echo?q=What+is+A%3F&n=2"
    assert request["headers"]["x-topic"] == "pumps"
    assert request["headers"]["x-empty"] == ""
    assert request["headers"]["x-colon"] == "a:b"
    assert request["headers"]["content-type"] == "application/json"
    assert request["body"] == '{"n": 2}'


def test_dify_text_form_and_old_string_bodies(echo: str) -> None:
    raw = sent(
        http(
            method="post", url=echo + "/echo", body={"type": "raw-text", "data": "hi {{#start.n#}}"}
        )
    )
    assert (raw["body"], raw["headers"]["content-type"]) == ("hi 2", "text/plain")

    form = http(
        method="post",
        url=echo + "/echo",
        body={
            "type": "x-www-form-urlencoded",
            "data": [
                {"key": "topic", "type": "text", "value": "{{#start.topic#}}"},
                {"key": "q", "type": "text", "value": "a&b"},
            ],
        },
    )
    request = sent(form)
    assert request["body"] == "topic=pumps&q=a%26b"
    assert request["headers"]["content-type"] == "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("auth", "header", "expected"),
    [
        ({"type": "bearer", "api_key": "k-{{#start.n#}}"}, "authorization", "Bearer k-2"),
        ({"type": "basic", "api_key": "user:pass"}, "authorization", "Basic dXNlcjpwYXNz"),
        ({"type": "basic", "api_key": "dXNlcjpwYXNz"}, "authorization", "Basic dXNlcjpwYXNz"),
        ({"type": "custom", "api_key": "k1", "header": "X-API-Key"}, "x-api-key", "k1"),
    ],
)
def test_dify_api_key_authorization(
    echo: str, auth: dict[str, Any], header: str, expected: str
) -> None:
    config = http(url=echo + "/echo", authorization={"type": "api-key", "config": auth})

    result = run_http(config, context(POOL))

    assert json.loads(result.outputs["body"])["headers"][header] == expected
    # The step records that a key was sent, never the key.
    shown = {k.lower(): v for k, v in result.inputs["headers"].items()}
    assert shown[header] == "***"
    assert base64.b64decode("dXNlcjpwYXNz") == b"user:pass"


def test_dify_body_errors_are_node_errors(echo: str) -> None:
    bad_json = http(method="post", url=echo + "/echo", body={"type": "json", "data": "{nope"})
    with pytest.raises(NodeError, match=re.escape("Failed to parse JSON: {nope")):
        run_http(bad_json, context(POOL))
    files = http(method="post", url=echo + "/echo", body={"type": "form-data", "data": []})
    with pytest.raises(NodeError, match="'form-data' body carries files"):
        run_http(files, context(POOL))


def test_http_configs_are_checked_at_save() -> None:
    with pytest.raises(ValidationError, match="method must be one of"):
        http(url="https://x", method="fetch")
    with pytest.raises(ValidationError):
        http(url="https://x", body={"type": "yaml"})
    assert http(url="https://x", timeout={"max_read_timeout": 0}).is_dify
    assert not HttpRequestConfig(url="https://x", headers={"a": "b"}).is_dify


# --- tool --------------------------------------------------------------------------------


def tool(**config: Any) -> ToolConfig:
    return ToolConfig.model_validate(
        {"provider_id": "json_process", "provider_type": "builtin", **config}
    )


def test_dify_json_parse_with_every_parameter_form() -> None:
    for parameter in (
        "{{#api.body#}}",
        {"type": "mixed", "value": "{{#api.body#}}"},
        {"type": "variable", "value": ["api", "body"]},
        {"type": "constant", "value": '{"key": "value", "number": 42}'},
    ):
        config = tool(tool_name="json_parse", tool_parameters={"json_string": parameter})
        outputs = run_tool(config, context(POOL)).outputs
        parsed = {"key": "value", "number": 42}
        assert outputs == {
            "text": '{"key": "value", "number": 42}',
            "files": [],
            "json": [parsed],
            "result": parsed,
        }


def test_dify_tool_configurations_are_constant_arguments() -> None:
    config = tool(
        tool_name="json_parse",
        tool_configurations={"json_filter": "$.number"},
        tool_parameters={"content": {"type": "variable", "value": ["api", "body"]}},
    )

    assert run_tool(config, context(POOL)).outputs["result"] == 42
    assert ("api", "body") in config.references()


def test_an_unknown_dify_tool_fails_at_run_time_not_at_save() -> None:
    config = tool(provider_id="google", tool_name="google_search", tool_parameters={})

    with pytest.raises(NodeError) as caught:
        run_tool(config, context(POOL))
    assert str(caught.value).startswith(
        "unknown tool 'google_search' of provider 'google'; built-in tools are: current_time"
    )
    assert "ARN" not in str(caught.value)
    assert caught.value.error_type == "UnknownTool"


def test_a_tool_config_has_one_shape() -> None:
    with pytest.raises(ValidationError, match="needs exactly one of `tool`"):
        ToolConfig.model_validate({"tool": "echo", "tool_name": "echo"})
