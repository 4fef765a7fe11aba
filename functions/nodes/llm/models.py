"""Which model a node runs on.

Every LLM node runs on the deployment's provider (LLM_PROVIDER: local, bedrock, openai).

- A v1 node: its `model` (templated), else LLM_MODEL, else the provider's default.
- A Dify node names a model of one of Dify's providers (`openai`/`gpt-4o`; plugin names
  such as `langgenius/openai/openai` count by their last segment). It runs on
  DIFY_MODEL_MAP["provider/name"], else DIFY_MODEL_MAP["name"], else LLM_MODEL, else the
  provider's default, else Dify's model name as it is (right for an OpenAI-compatible
  endpoint that serves that model). Dify's `completion_params` temperature and
  max_tokens are passed on; other parameters are not.
"""

from __future__ import annotations

from functions.core.errors import NodeError
from functions.core.settings import Settings
from functions.nodes.entities import NodeContext
from functions.nodes.llm.entities import DifyModel, LlmConfig
from functions.nodes.llm.providers import Provider


def choose_model(
    config: LlmConfig, settings: Settings, provider: Provider, ctx: NodeContext
) -> str:
    if isinstance(config.model, DifyModel):
        name = config.model.name
        key = f"{dify_provider(config.model.provider)}/{name}"
        mapped = settings.dify_model_map.get(key) or settings.dify_model_map.get(name)
        model = mapped or settings.llm_model or provider.default_model or name
    else:
        chosen = ctx.render(config.model) if config.model else None
        model = chosen or settings.llm_model or provider.default_model or ""
    if not model:
        raise NodeError(
            f"no model for provider '{provider.name}': set the node's model or LLM_MODEL"
        )
    return model


def dify_provider(name: str) -> str:
    """`langgenius/openai/openai` (a Dify plugin) -> `openai`."""
    return name.rsplit("/", 1)[-1]


def sampling(config: LlmConfig) -> tuple[float | None, int | None]:
    """Temperature and max tokens, from the v1 fields or Dify's completion_params."""
    if not isinstance(config.model, DifyModel):
        return config.temperature, config.max_tokens
    params = config.model.completion_params
    temperature = params.get("temperature")
    max_tokens = params.get("max_tokens")
    return (
        float(temperature) if isinstance(temperature, int | float) else None,
        int(max_tokens) if isinstance(max_tokens, int) and max_tokens > 0 else None,
    )
