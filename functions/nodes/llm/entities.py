from __future__ import annotations

from pydantic import Field

from functions.nodes.entities import NodeConfig


class LlmConfig(NodeConfig):
    """v1 `ai-generate`: a prompt (templated) and optional system prompt and model."""

    prompt: str = Field(min_length=1)
    system: str | None = None
    model: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, gt=0)
