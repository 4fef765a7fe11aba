from __future__ import annotations

from typing import Any

from functions.core.settings import get_settings
from functions.nodes.entities import NodeContext, NodeResult
from functions.nodes.llm.entities import LlmConfig
from functions.nodes.llm.models import choose_model, sampling
from functions.nodes.llm.prompting import render_messages
from functions.nodes.llm.providers import Prompt, provider_for


def run(config: LlmConfig, ctx: NodeContext) -> NodeResult:
    settings = get_settings()
    provider = provider_for(settings)
    model = choose_model(config, settings, provider, ctx)
    temperature, max_tokens = sampling(config)
    if config.prompt is not None:
        system = ctx.render(config.system) if config.system else None
        prompt = Prompt(ctx.render(config.prompt), system, model, temperature, max_tokens)
    else:
        system, turns = render_messages(config, ctx)
        user_text = "\n".join(m.text for m in turns if m.role == "user")
        prompt = Prompt(user_text, system, model, temperature, max_tokens, tuple(turns))
    completion = provider.complete(prompt)
    usage = completion.usage
    outputs: dict[str, Any] = {"text": completion.text, "usage": usage.as_dict()}
    inputs: dict[str, Any] = {"prompt": prompt.text, "system": prompt.system}
    if config.prompt is not None:
        outputs["result"] = completion.text  # v1 templates read `{{node.result}}`
    else:
        outputs["finish_reason"] = "stop"
        inputs["messages"] = [{"role": m.role, "text": m.text} for m in prompt.conversation()]
    return NodeResult(
        outputs=outputs,
        inputs={**inputs, "model": model, "provider": provider.name},
        tokens=usage.total_tokens,
    )
