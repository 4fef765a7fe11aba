from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from functions.nodes.dify_entities import VariableSelector
from functions.nodes.entities import NodeConfig


class DifyModel(BaseModel):
    """Dify's model choice; see models.py for how it maps onto this deployment's models."""

    model_config = ConfigDict(extra="ignore")

    provider: str = ""
    name: str = ""
    mode: str = "chat"
    completion_params: dict[str, Any] = Field(default_factory=dict)


class PromptMessage(BaseModel):
    """One message of Dify's prompt template (`role` is absent in completion mode)."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant"] = "user"
    text: str = ""
    edition_type: Literal["basic", "jinja2"] = "basic"
    jinja2_text: str | None = None


class ContextConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    enabled: bool = False
    variable_selector: list[str] = Field(default_factory=list)


class PromptConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    jinja2_variables: list[VariableSelector] = Field(default_factory=list)


class LlmConfig(NodeConfig):
    """An LLM call in one of two shapes:

    - v1 `ai-generate`: `prompt` and optional `system` (templated), `model` (a model id),
      `temperature`, `max_tokens`;
    - Dify: `model` {provider, name, mode, completion_params}, `prompt_template` (a list
      of {role, text} in chat mode, one {text} in completion mode; `edition_type: jinja2`
      renders `jinja2_text` with `prompt_config.jinja2_variables`), `context` whose value
      replaces `{{#context#}}`.
    """

    prompt: str | None = Field(default=None, min_length=1)
    system: str | None = None
    model: str | DifyModel | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, gt=0)

    prompt_template: list[PromptMessage] | PromptMessage | None = None
    context: ContextConfig = Field(default_factory=ContextConfig)
    prompt_config: PromptConfig = Field(default_factory=PromptConfig)

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        if (self.prompt is None) == (self.prompt_template is None):
            raise ValueError("needs exactly one of `prompt` (v1) or `prompt_template` (Dify)")
        if self.prompt is not None and isinstance(self.model, DifyModel):
            raise ValueError("`model` of a v1 prompt is a model id, not Dify's model object")
        return self

    def messages(self) -> list[PromptMessage]:
        """Dify's template as a list (completion mode's single message is the user's)."""
        if isinstance(self.prompt_template, PromptMessage):
            return [self.prompt_template.model_copy(update={"role": "user"})]
        return self.prompt_template or []

    @property
    def is_dify(self) -> bool:
        return self.prompt_template is not None


class ModelTaskConfig(NodeConfig):
    """What the nodes that put one question to a model share (extractor, classifier)."""

    instruction: str = ""
    model: DifyModel = Field(default_factory=DifyModel)

    @field_validator("instruction", mode="before")
    @classmethod
    def _no_instruction(cls, value: Any) -> Any:
        # Dify exports a missing instruction as null.
        return "" if value is None else value
