from __future__ import annotations

from functions.core.errors import NodeError
from functions.core.settings import get_settings
from functions.nodes.entities import NodeContext, NodeResult
from functions.nodes.llm.entities import LlmConfig
from functions.nodes.llm.providers import Prompt, provider_for


def run(config: LlmConfig, ctx: NodeContext) -> NodeResult:
    settings = get_settings()
    provider = provider_for(settings)
    model = ctx.render(config.model) if config.model else None
    model = model or settings.llm_model or provider.default_model
    if not model:
        raise NodeError(
            f"no model for provider '{provider.name}': set the node's model or LLM_MODEL"
        )
    prompt = Prompt(
        text=ctx.render(config.prompt),
        system=ctx.render(config.system) if config.system else None,
        model=model,
        temperature=config.temperature,
        max_tokens=config.max_tokens,
    )
    completion = provider.complete(prompt)
    usage = completion.usage
    return NodeResult(
        outputs={"result": completion.text, "text": completion.text, "usage": usage.as_dict()},
        inputs={
            "prompt": prompt.text,
            "system": prompt.system,
            "model": model,
            "provider": provider.name,
        },
        tokens=usage.total_tokens,
    )
