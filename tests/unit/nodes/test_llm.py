from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from functions.core.data import runs
from functions.core.errors import NodeError
from functions.nodes.llm import handler, providers
from functions.nodes.llm.entities import LlmConfig
from functions.nodes.llm.node import run
from functions.nodes.llm.providers import BedrockProvider, Prompt
from local import aws
from tests.unit.nodes.support import LAMBDA_CONTEXT, RUN_ID, configure, context, task_event

PROMPT = "分析 {{fetch.result.site}} in {{trigger.data.building}}"


def test_local_provider_replies_predictably_with_word_count_usage() -> None:
    result = run(LlmConfig(prompt=PROMPT, system="Be brief."), context("llm"))

    assert result.outputs == {
        "result": "[local:local] 分析 A in A栋",
        "text": "[local:local] 分析 A in A栋",
        # prompt: 4 words + system: 2 words; reply: 5 words
        "usage": {"prompt_tokens": 6, "completion_tokens": 5, "total_tokens": 11},
    }
    assert result.tokens == 11
    assert result.inputs == {
        "prompt": "分析 A in A栋",
        "system": "Be brief.",
        "model": "local",
        "provider": "local",
    }


def test_model_comes_from_the_node_then_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, LLM_MODEL="house-model")

    from_settings = run(LlmConfig(prompt="hi"), context("llm"))
    from_node = run(LlmConfig(prompt="hi", model="{{fetch.result.site}}-model"), context("llm"))

    assert from_settings.outputs["text"] == "[local:house-model] hi"
    assert from_node.outputs["text"] == "[local:A-model] hi"


def test_unknown_provider_is_a_node_error(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, LLM_PROVIDER="gpt-on-a-napkin")

    with pytest.raises(NodeError, match="unknown LLM_PROVIDER 'gpt-on-a-napkin'"):
        run(LlmConfig(prompt="hi"), context("llm"))


# moto 5.2.5 implements bedrock-runtime InvokeModel but not Converse, so the Bedrock
# provider is given this stand-in for the boto3 client through its constructor.
class _StubBedrock:
    def __init__(self, response: dict[str, Any] | None = None, error: str | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self._response = response
        self._error = error

    def converse(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        if self._error:
            raise ClientError({"Error": {"Code": self._error, "Message": "slow down"}}, "Converse")
        assert self._response is not None
        return self._response


CONVERSE_REPLY = {
    "output": {
        "message": {
            "role": "assistant",
            "content": [{"text": "Site A "}, {"reasoningContent": {}}, {"text": "is fine."}],
        }
    },
    "stopReason": "end_turn",
    "usage": {"inputTokens": 12, "outputTokens": 4, "totalTokens": 16},
}


def test_bedrock_maps_the_prompt_onto_converse_and_reads_text_and_usage() -> None:
    client = _StubBedrock(CONVERSE_REPLY)
    prompt = Prompt("How is A?", "Be brief.", "anthropic.claude-3-haiku", 0.2, 256)

    completion = BedrockProvider(client).complete(prompt)

    assert client.requests == [
        {
            "modelId": "anthropic.claude-3-haiku",
            "messages": [{"role": "user", "content": [{"text": "How is A?"}]}],
            "system": [{"text": "Be brief."}],
            "inferenceConfig": {"temperature": 0.2, "maxTokens": 256},
        }
    ]
    assert completion.text == "Site A is fine."
    assert completion.usage.as_dict() == {
        "prompt_tokens": 12,
        "completion_tokens": 4,
        "total_tokens": 16,
    }


def test_bedrock_node_sends_only_what_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    client = _StubBedrock(CONVERSE_REPLY)
    configure(monkeypatch, LLM_PROVIDER="bedrock", LLM_MODEL="amazon.nova-lite-v1:0")
    monkeypatch.setattr(providers, "_bedrock_client", lambda _region: client)

    result = run(LlmConfig(prompt=PROMPT), context("llm"))

    assert client.requests == [
        {
            "modelId": "amazon.nova-lite-v1:0",
            "messages": [{"role": "user", "content": [{"text": "分析 A in A栋"}]}],
        }
    ]
    assert result.outputs["result"] == "Site A is fine."
    assert result.tokens == 16


def test_bedrock_needs_a_model(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, LLM_PROVIDER="bedrock")
    monkeypatch.setattr(providers, "_bedrock_client", lambda _region: _StubBedrock())

    with pytest.raises(NodeError, match="no model for provider 'bedrock'"):
        run(LlmConfig(prompt="hi"), context("llm"))


def test_bedrock_refusal_is_a_model_error() -> None:
    provider = BedrockProvider(_StubBedrock(error="ThrottlingException"))

    with pytest.raises(NodeError, match="ThrottlingException: slow down") as caught:
        provider.complete(Prompt("hi", None, "m"))

    assert caught.value.error_type == "ModelError"


class _ChatCompletions(BaseHTTPRequestHandler):
    """A minimal OpenAI-compatible endpoint that records what it was sent."""

    received: list[dict[str, Any]]
    status = 200

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append(
            {"path": self.path, "authorization": self.headers["Authorization"], "body": body}
        )
        if self.status != 200:
            payload = b'{"error": {"message": "rate limited"}}'
        else:
            payload = json.dumps(
                {
                    "choices": [{"message": {"role": "assistant", "content": "All good."}}],
                    "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
                }
            ).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def chat_server(
    local_aws: aws.LocalAws, monkeypatch: pytest.MonkeyPatch
) -> Iterator[type[_ChatCompletions]]:
    handler_class = type("Handler", (_ChatCompletions,), {"received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    boto3.client("ssm").put_parameter(
        Name="/stepcanvas/openai-key", Value="sk-test", Type="SecureString"
    )
    configure(
        monkeypatch,
        LLM_PROVIDER="openai",
        LLM_MODEL="gpt-4o-mini",
        OPENAI_BASE_URL=f"http://127.0.0.1:{server.server_address[1]}/v1/",
        OPENAI_API_KEY_PARAMETER="/stepcanvas/openai-key",
    )
    yield handler_class
    server.shutdown()
    server.server_close()


def test_openai_provider_posts_chat_completions_with_the_ssm_key(
    chat_server: type[_ChatCompletions],
) -> None:
    config = LlmConfig(prompt=PROMPT, system="Be brief.", temperature=0.5, max_tokens=64)

    result = run(config, context("llm"))

    assert chat_server.received == [
        {
            "path": "/v1/chat/completions",
            "authorization": "Bearer sk-test",
            "body": {
                "model": "gpt-4o-mini",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "分析 A in A栋"},
                ],
                "temperature": 0.5,
                "max_tokens": 64,
            },
        }
    ]
    assert result.outputs == {
        "result": "All good.",
        "text": "All good.",
        "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
    }


def test_openai_key_is_read_once_per_container(chat_server: type[_ChatCompletions]) -> None:
    run(LlmConfig(prompt="one"), context("llm"))
    boto3.client("ssm").delete_parameter(Name="/stepcanvas/openai-key")

    run(LlmConfig(prompt="two"), context("llm"))

    assert [r["authorization"] for r in chat_server.received] == ["Bearer sk-test"] * 2


def test_openai_error_status_is_a_model_error_naming_the_endpoint(
    chat_server: type[_ChatCompletions],
) -> None:
    chat_server.status = 429

    with pytest.raises(NodeError, match=r"127\.0\.0\.1:\d+ answered 429 .*rate limited") as caught:
        run(LlmConfig(prompt="hi"), context("llm"))

    assert caught.value.error_type == "ModelError"


def test_missing_key_parameter_is_a_node_error(
    local_aws: aws.LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, LLM_PROVIDER="openai", OPENAI_API_KEY_PARAMETER="/stepcanvas/nope")

    with pytest.raises(NodeError, match="cannot read model key parameter '/stepcanvas/nope'"):
        run(LlmConfig(prompt="hi", model="m"), context("llm"))


def test_handler_records_rendered_inputs_and_tokens(local_aws: aws.LocalAws) -> None:
    state = handler.handler(task_event("llm", {"prompt": PROMPT}), LAMBDA_CONTEXT)

    assert state == {
        "outputs": {
            "result": "[local:local] 分析 A in A栋",
            "text": "[local:local] 分析 A in A栋",
            "usage": {"prompt_tokens": 4, "completion_tokens": 5, "total_tokens": 9},
        }
    }
    finished = runs.events(RUN_ID)[-1]
    assert finished.status == "succeeded"
    assert finished.inputs is not None and finished.inputs["prompt"] == "分析 A in A栋"
    assert finished.tokens == 9
