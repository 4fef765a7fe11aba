"""What the Dify nodes that ask a model for a JSON answer share (parameter extractor,
question classifier): the provider call, and reading JSON back.

The model is called through functions/nodes/llm/providers.py, and chosen from Dify's
`model` block exactly as the llm node chooses it (functions/nodes/llm/models.py:
DIFY_MODEL_MAP, LLM_MODEL, the provider's default; temperature and max_tokens from
`completion_params`).

The deterministic `local` provider echoes prompts, which no node could parse. When it
echoes, the node's own `local_reply` (computed from the query by documented rules)
replaces the echo; a canned reply (LOCAL_LLM_REPLIES) is kept as the model's answer.
Usage still comes from the provider (prompt words), completion tokens from the reply.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from functions.core.settings import get_settings
from functions.nodes.entities import NodeContext
from functions.nodes.llm.entities import DifyModel, LlmConfig
from functions.nodes.llm.models import choose_model, sampling
from functions.nodes.llm.providers import LocalProvider, Prompt, Usage, provider_for


@dataclass(frozen=True)
class Answer:
    text: str
    usage: Usage
    model: str
    provider: str


def ask(model: DifyModel, ctx: NodeContext, *, system: str, text: str, local_reply: str) -> Answer:
    settings = get_settings()
    provider = provider_for(settings)
    # The llm node's model policy takes an llm config; this one carries just the model.
    as_llm = LlmConfig(model=model, prompt_template=[])
    name = choose_model(as_llm, settings, provider, ctx)
    temperature, max_tokens = sampling(as_llm)
    prompt = Prompt(text, system, name, temperature, max_tokens)
    completion = provider.complete(prompt)
    reply, usage = completion.text, completion.usage
    if isinstance(provider, LocalProvider) and reply == f"[local:{name}] {text}":
        reply, usage = local_reply, Usage(usage.prompt_tokens, len(local_reply.split()))
    return Answer(reply, usage, name, provider.name)


def find_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in a model's reply (which may wrap it in prose or a fence)."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _end = decoder.raw_decode(text, start)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None
