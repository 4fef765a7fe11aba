"""Model providers behind one small interface: a deterministic local one, Amazon Bedrock
(Converse API) and any OpenAI-compatible `/chat/completions` endpoint."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from functions.core import aws_clients
from functions.core.errors import NodeError
from functions.core.settings import Settings

# A failure the model service reported (or a network failure reaching it); worth a retry
# when it is throttling or a timeout, which the state machine's Retry may decide.
MODEL_ERROR = "ModelError"
# The node's own Lambda allows 300 s; leave room to record the failure if the model hangs.
MODEL_TIMEOUT_SECONDS = 240.0
# Bounds what a misbehaving endpoint can make the function hold in memory.
MAX_OPENAI_RESPONSE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Message:
    role: Literal["user", "assistant"]
    text: str


@dataclass(frozen=True)
class Prompt:
    """What a model is asked: a system prompt and a conversation.

    `messages` is the conversation (Dify's prompt templates: user and assistant turns);
    empty means one user turn, `text`. `text` is always the user's text (what the local
    provider echoes and the step records).
    """

    text: str
    system: str | None
    model: str
    temperature: float | None = None
    max_tokens: int | None = None
    messages: tuple[Message, ...] = ()

    def conversation(self) -> tuple[Message, ...]:
        return self.messages or (Message("user", self.text),)


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def as_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass(frozen=True)
class Completion:
    text: str
    usage: Usage


class Provider(Protocol):
    name: str
    # The model used when neither the node nor LLM_MODEL names one (None: one is required).
    default_model: str | None

    def complete(self, prompt: Prompt) -> Completion: ...


class LocalProvider:
    """Deterministic stand-in for development and tests; never leaves the process.

    The reply is exactly `[local:{model}] {prompt}` (the rendered prompt; the system prompt
    is not echoed). Token counts are whitespace-separated word counts: prompt tokens count
    the system prompt and the prompt, completion tokens count the reply.

    Canned replies (LOCAL_LLM_REPLIES, a JSON object) replace that echo: the first key, in
    the object's order, found as a substring of the system prompt or any message gives
    the reply. A value is the reply's text, or an object with any of `text` (the reply),
    `error` (fail with this message, as a model service would) and `delay_ms` (answer
    after this long, at most 10 s), e.g.

        {"Hello": "Hi there", "This should fail": {"error": "model overloaded"},
         "slow": {"text": "late reply", "delay_ms": 200}}
    """

    name = "local"
    default_model: str | None = "local"

    def __init__(self, replies: dict[str, Any] | None = None) -> None:
        self._replies = replies or {}

    def complete(self, prompt: Prompt) -> Completion:
        text = self._canned(prompt)
        if text is None:
            text = f"[local:{prompt.model}] {prompt.text}"
        asked = sum(len(m.text.split()) for m in prompt.conversation())
        asked += len((prompt.system or "").split())
        return Completion(text, Usage(asked, len(text.split())))

    def _canned(self, prompt: Prompt) -> str | None:
        asked = [prompt.system or "", *(m.text for m in prompt.conversation())]
        for needle, reply in self._replies.items():
            if any(needle in text for text in asked):
                return _canned_reply(reply)
        return None


MAX_LOCAL_DELAY_MS = 10_000


def _canned_reply(reply: Any) -> str:
    if not isinstance(reply, dict):
        return str(reply)
    delay = reply.get("delay_ms")
    if isinstance(delay, int | float) and delay > 0:
        time.sleep(min(delay, MAX_LOCAL_DELAY_MS) / 1000)
    if reply.get("error"):
        raise NodeError(f"local model failed: {reply['error']}", MODEL_ERROR)
    return str(reply.get("text", ""))


class BedrockProvider:
    """Amazon Bedrock's Converse API, which speaks one request shape for every model."""

    name = "bedrock"
    default_model: str | None = None

    def __init__(self, client: Any) -> None:
        self._client = client

    def complete(self, prompt: Prompt) -> Completion:
        request: dict[str, Any] = {"modelId": prompt.model, "messages": _converse_messages(prompt)}
        if prompt.system:
            request["system"] = [{"text": prompt.system}]
        inference: dict[str, Any] = {}
        if prompt.temperature is not None:
            inference["temperature"] = prompt.temperature
        if prompt.max_tokens is not None:
            inference["maxTokens"] = prompt.max_tokens
        if inference:
            request["inferenceConfig"] = inference
        try:
            response = self._client.converse(**request)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise NodeError(
                f"Bedrock refused model '{prompt.model}': "
                f"{error.get('Code', 'Error')}: {error.get('Message', '')}",
                MODEL_ERROR,
            ) from exc
        except BotoCoreError as exc:
            raise NodeError(
                f"Bedrock call for model '{prompt.model}' failed: {exc}", MODEL_ERROR
            ) from exc
        blocks = response["output"]["message"]["content"]
        # Only text blocks form the reply; reasoning or tool-use blocks are not part of it.
        text = "".join(block["text"] for block in blocks if "text" in block)
        usage = response.get("usage", {})
        return Completion(text, Usage(usage.get("inputTokens", 0), usage.get("outputTokens", 0)))


def _converse_messages(prompt: Prompt) -> list[dict[str, Any]]:
    """Converse wants turns that alternate: consecutive turns of one role become one."""
    messages: list[dict[str, Any]] = []
    for message in prompt.conversation():
        if messages and messages[-1]["role"] == message.role:
            messages[-1]["content"].append({"text": message.text})
        else:
            messages.append({"role": message.role, "content": [{"text": message.text}]})
    return messages


class OpenAiProvider:
    """Any endpoint that speaks OpenAI's `/chat/completions` (OpenAI, vLLM, Ollama, ...).

    The stdlib's urllib is used because the Lambda package carries no HTTP client. The
    endpoint comes from deployment settings, never from a workflow, so it is not subject
    to the HTTP node's private-address guard.
    """

    name = "openai"
    default_model: str | None = None

    def __init__(self, base_url: str, api_key: str | None) -> None:
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._api_key = api_key

    def complete(self, prompt: Prompt) -> Completion:
        messages = [{"role": m.role, "content": m.text} for m in prompt.conversation()]
        if prompt.system:
            messages.insert(0, {"role": "system", "content": prompt.system})
        payload: dict[str, Any] = {"model": prompt.model, "messages": messages}
        if prompt.temperature is not None:
            payload["temperature"] = prompt.temperature
        if prompt.max_tokens is not None:
            payload["max_tokens"] = prompt.max_tokens
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(  # noqa: S310 - the URL is deployment configuration
            self._url, data=json.dumps(payload).encode(), headers=headers, method="POST"
        )
        host = urlsplit(self._url).netloc
        try:
            with urllib.request.urlopen(request, timeout=MODEL_TIMEOUT_SECONDS) as response:  # noqa: S310
                raw = response.read(MAX_OPENAI_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            detail = exc.read(2000).decode("utf-8", "replace")
            raise NodeError(
                f"model endpoint {host} answered {exc.code} for model '{prompt.model}': {detail}",
                MODEL_ERROR,
            ) from exc
        except OSError as exc:  # URLError, refused connections, TLS failures, timeouts
            # urllib wraps a connect timeout in URLError but lets a read timeout through.
            if isinstance(exc, TimeoutError) or isinstance(
                getattr(exc, "reason", None), TimeoutError
            ):
                reason = f"did not answer within {MODEL_TIMEOUT_SECONDS:g} s"
            else:
                reason = f"unreachable: {exc}"
            raise NodeError(f"model endpoint {host} {reason}", MODEL_ERROR) from exc
        if len(raw) > MAX_OPENAI_RESPONSE_BYTES:
            raise NodeError(f"model endpoint {host} sent an oversized response", MODEL_ERROR)
        try:
            body = json.loads(raw)
            text = body["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise NodeError(
                f"model endpoint {host} sent a response without choices[0].message.content",
                MODEL_ERROR,
            ) from exc
        usage = body.get("usage") or {}
        return Completion(
            text, Usage(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0))
        )


@lru_cache(maxsize=8)
def api_key(parameter: str, region: str) -> str:
    """The OpenAI-compatible key from an SSM SecureString, read once per warm container
    (a rotated key reaches new containers; old ones keep the value they read)."""
    try:
        value: str = aws_clients.client("ssm", region).get_parameter(
            Name=parameter, WithDecryption=True
        )["Parameter"]["Value"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "Error")
        raise NodeError(f"cannot read model key parameter '{parameter}': {code}") from exc
    return value


# botocore's default 60 s read timeout is shorter than a long generation takes.
_BEDROCK_CONFIG = Config(read_timeout=MODEL_TIMEOUT_SECONDS, retries={"mode": "standard"})


def _bedrock_client(region: str) -> Any:
    return aws_clients.client("bedrock-runtime", region, _BEDROCK_CONFIG)


def provider_for(settings: Settings) -> Provider:
    """The provider LLM_PROVIDER names, wired from deployment settings."""
    match settings.llm_provider:
        case "local":
            return LocalProvider(settings.local_llm_replies)
        case "bedrock":
            return BedrockProvider(_bedrock_client(settings.region))
        case "openai":
            key = (
                api_key(settings.openai_api_key_parameter, settings.region)
                if settings.openai_api_key_parameter
                # Self-hosted OpenAI-compatible servers often need no key at all.
                else None
            )
            return OpenAiProvider(settings.openai_base_url, key)
        case other:
            raise NodeError(f"unknown LLM_PROVIDER '{other}'; expected local, bedrock or openai")
